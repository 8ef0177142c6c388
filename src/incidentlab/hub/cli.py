"""``incidentlab hub``: start a JupyterHub for the class of ``hub/class.toml`` on this machine (as root)."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from pathlib import Path

from incidentlab.errors import IncidentLabError


def proxy_command() -> Path:
    from incidentlab.paths import project_root

    return project_root() / "hub" / "proxy" / "node_modules" / ".bin" / "configurable-http-proxy"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def instructor_command(klass, instructor: str, *args: str) -> list[str]:
    """``incidentlab <args>`` as ``instructor``, with the environment their server on the hub has."""
    from incidentlab.hub import prepare
    from incidentlab.paths import project_root

    config = prepare.config_dir(klass.state, "instructor")
    env = [f"INCIDENTLAB_ROOT={project_root()}", f"INCIDENTLAB_NBGRADER_CONFIG={config / 'nbgrader_config.py'}",
           f"INCIDENTLAB_WAREHOUSES={prepare.course_copy(klass.state) / 'warehouses'}",
           f"JUPYTER_CONFIG_PATH={config}", f"HOME={os.path.expanduser('~' + instructor)}",
           f"PATH={prepare.instructor_env(klass.state) / 'bin'}:/usr/bin:/bin"]
    script = 'umask 007; cd "$HOME" && exec "$@"'
    return ["runuser", "-u", instructor, "--", "env", "-i", *env, "sh", "-c", script, "sh",
            str(prepare.instructor_env(klass.state) / "bin" / "incidentlab"), *args]


def _release_new(klass) -> None:
    """Release to the exchange every module not in it yet, as the first instructor (who owns the course)."""
    from incidentlab.datasets import module_names
    from incidentlab.hub import prepare

    outbound = klass.exchange / klass.course_id / "outbound"
    for module in module_names():
        if (outbound / module).is_dir():
            continue
        result = subprocess.run(instructor_command(klass, klass.instructors[0], "grade", "release", "--exchange",
                                                    "--quiet", "--assignment", module), capture_output=True, text=True)
        if result.returncode:
            raise IncidentLabError(f"releasing {module} to the exchange failed: "
                                   f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}")
        print(f"released {module} to the exchange ({outbound / module})")
    gradebook = prepare.instructors_course(klass.state) / "gradebook.db"
    if gradebook.exists():  # SQLite creates it 0644 whatever the umask: every instructor grades into it
        gradebook.chmod(0o660)


def settings(klass, ip: str, port: int) -> dict:
    from incidentlab.hub import prepare
    from incidentlab.paths import project_root

    return {
        "state": str(klass.state), "ip": ip, "port": port, "hub_port": _free_port(), "proxy_api_port": _free_port(),
        "proxy": str(proxy_command()), "instructors": list(klass.instructors), "students": list(klass.students),
        "project": str(project_root()), "course": str(prepare.course_copy(klass.state)),
        "warehouses": str(prepare.course_copy(klass.state) / "warehouses"),
        "instructor_bin": str(prepare.instructor_env(klass.state) / "bin"),
        "student_bin": str(prepare.student_env(klass.state) / "bin"),
        "instructor_config": str(prepare.config_dir(klass.state, "instructor")),
        "student_config": str(prepare.config_dir(klass.state, "student")),
        "instructors_course": str(prepare.instructors_course(klass.state)),
    }


def _hub(ns: argparse.Namespace) -> None:
    from incidentlab.hub import prepare, users
    from incidentlab.hub.classfile import ClassList, default_class_file

    klass = ClassList.load(ns.class_file or default_class_file())
    if ns.remove_users:
        prepare.reopen_checkout(klass.state)
        removed = users.remove_users(klass.state)
        print(f"removed {len(removed)} user(s) the hub created: {', '.join(removed) or 'none'}")
        return
    if not proxy_command().exists():
        raise IncidentLabError("configurable-http-proxy is not installed: run `make hub-proxy` (npm)")
    new = users.ensure_users(klass)
    for name, password in new.items():
        print(f"created user {name} (password {password})")
    prepare.prepare(klass)
    if not ns.no_release:
        _release_new(klass)
    path = klass.state / "hub.json"
    from incidentlab.grading import atomic

    port = ns.port or _free_port()
    atomic.write_json(path, settings(klass, ns.ip, port))
    print(f"JupyterHub for {klass.course_id} at http://{ns.ip}:{port}/ (passwords: {klass.state / 'passwords.csv'}"
          "); Ctrl-C stops it and every user's server", flush=True)
    config = Path(__file__).with_name("jupyterhub_config.py")
    os.chdir(klass.state)
    os.execve(str(Path(sys.executable).parent / "jupyterhub"), ["jupyterhub", "-f", str(config)],
              {**os.environ, "INCIDENTLAB_HUB_SETTINGS": str(path)})


def register(commands) -> None:
    h = commands.add_parser("hub", help="a JupyterHub for the class in hub/class.toml, on this machine (root)")
    h.add_argument("--class", dest="class_file", type=Path, help="the class file (default: hub/class.toml)")
    h.add_argument("--ip", default="127.0.0.1", help="the address to serve on (default 127.0.0.1; 0.0.0.0 for a "
                                                     "class, behind HTTPS)")
    h.add_argument("--port", type=int, default=8000, help="the port (default 8000; 0: a free one)")
    h.add_argument("--no-release", action="store_true", help="do not release the modules to the exchange")
    h.add_argument("--remove-users", action="store_true",
                   help="remove the users the hub created (homes too) and give the checkout its mode back; the "
                        "exchange, the course directory and the state folder stay")
    h.set_defaults(run=_hub)
