"""JupyterHub's configuration for a class (``jupyterhub -f`` this file; ``incidentlab hub`` does).

It reads the settings ``incidentlab hub`` wrote (``$INCIDENTLAB_HUB_SETTINGS``): PAM logins for the class's
system users only, the LocalProcessSpawner, and per role the environment and Jupyter configuration of its server.
"""

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

get_config: Callable[[], Any]  # declared only: traitlets provides it when JupyterHub loads this file
c = get_config()  # noqa: F821
settings = json.loads(Path(os.environ["INCIDENTLAB_HUB_SETTINGS"]).read_text())
state = Path(settings["state"])

c.JupyterHub.bind_url = f"http://{settings['ip']}:{settings['port']}"
c.JupyterHub.hub_bind_url = f"http://127.0.0.1:{settings['hub_port']}"
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{settings['proxy_api_port']}"
c.ConfigurableHTTPProxy.command = [settings["proxy"]]
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.JupyterHub.cleanup_servers = True  # stopping the hub stops every user's server

# PAM: the class's system users log in with their passwords (passwords.csv); nobody else may.
c.JupyterHub.authenticator_class = "pam"
c.PAMAuthenticator.open_sessions = False  # no login session per server (none is needed, and containers lack one)
c.Authenticator.allowed_users = set(settings["instructors"] + settings["students"])
c.Authenticator.admin_users = set(settings["instructors"])  # the hub's admin page: start and stop servers

c.JupyterHub.spawner_class = "localprocess"
c.Spawner.default_url = "/lab"
c.Spawner.start_timeout = 120
c.Spawner.http_timeout = 120


def _role_server(spawner):
    """A student's server runs the student environment; an instructor's the project's, with formgrader."""
    name = spawner.user.name
    home = Path(os.path.expanduser(f"~{name}"))
    tmp = home / ".tmp"  # the kernels' copies of the warehouse: removed with the user, never in a shared /tmp
    env = {"TMPDIR": str(tmp), "INCIDENTLAB_WAREHOUSES": settings["warehouses"]}
    if name in settings["instructors"]:
        bin_dir = settings["instructor_bin"]
        env.update(JUPYTER_CONFIG_PATH=settings["instructor_config"], INCIDENTLAB_ROOT=settings["project"],
                   INCIDENTLAB_NBGRADER_CONFIG=str(Path(settings["instructor_config"]) / "nbgrader_config.py"))
        umask = "007"  # the course directory is the instructors' group's, every file in it too
        spawner.notebook_dir = settings["instructors_course"]
    else:
        bin_dir = settings["student_bin"]
        env.update(JUPYTER_CONFIG_PATH=settings["student_config"], INCIDENTLAB_ROOT=settings["course"])
        umask = "077"
        spawner.notebook_dir = str(home)
    env["PATH"] = f"{bin_dir}:/usr/local/bin:/usr/bin:/bin"
    spawner.cmd = ["/bin/sh", "-c", f'umask {umask}; mkdir -p "$TMPDIR"; exec "$0" "$@"',
                   f"{bin_dir}/jupyterhub-singleuser"]
    spawner.environment.update(env)


c.Spawner.pre_spawn_hook = _role_server
