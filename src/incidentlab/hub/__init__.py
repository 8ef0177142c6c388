"""A JupyterHub for a class on one server: ``incidentlab hub`` (``make hub``).

The class file (``hub/class.toml``) lists the instructors and students; the hub creates them as system users,
prepares nbgrader's exchange, a copy of the course the students may read (no answer key), and a student
environment without the instructor's tools, then runs JupyterHub with PAM logins and the LocalProcessSpawner.
"""
