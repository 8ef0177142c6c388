"""The instructor's grading pipeline, on top of nbgrader: release, collect, autograde, feedback, export.

Every submission is autograded by nbgrader's own converter in a sandbox of its own (a private course folder,
gradebook, warehouses, HOME and TMPDIR); a single writer merges each result into the course gradebook.
"""
