"""The graded questions of each module: ``from incidentlab.exercises import wt06_data_stale as ex``.

Each module holds ``Question`` instances (``incidentlab.checking``) whose reference SQL the checks run on the
pristine warehouses; the notebooks only ever call ``ex.<name>.check(...)`` and ``check_hidden(...)``.
"""
