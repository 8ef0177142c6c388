"""What an executed kernel (``--execute``) tries against its jail, in one cell: each attempt's outcome is printed
as JSON after ``ATTACKS`` so the test can read it from the autograded notebook.

``attacks(course_root, stash, scheduler)``: the code of that cell, for a course at ``course_root``, a copy of the
answer key at ``stash`` (elsewhere on the disk) and a dask scheduler listening on the host's loopback.
"""

from __future__ import annotations

from pathlib import Path

_SOURCE = """import json, os, pathlib, socket, subprocess, sys
from incidentlab.paths import project_root
seen = {"uid": os.getuid(), "pid": os.getpid()}
course = pathlib.Path(%(course)r)
def attempt(name, action):
    try:
        seen[name] = action()
    except OSError as exc:
        seen[name] = type(exc).__name__
def listing(path):
    return sorted(os.listdir(path))[:3] if path.is_dir() else path.read_text()[:20]
for name, path in {"key": project_root() / "grading" / %(module)r / "answer_key" / "hours_stale.sql",
                   "key copy": pathlib.Path(%(stash)r),
                   "masters": project_root() / "notebooks" / %(module)r,
                   "course": course, "gradebook": course / "gradebook.db",
                   "home": pathlib.Path("/root"), "shadow": pathlib.Path("/etc/shadow"),
                   "variants": pathlib.Path(os.environ["INCIDENTLAB_WAREHOUSES"]) / %(module)r,
                   "sandboxes": pathlib.Path(os.environ["HOME"]).parent.parent}.items():
    attempt(name, lambda: listing(path))
def write(path):
    pathlib.Path(path).write_text("x")
    return True
attempt("wrote src", lambda: write(project_root() / "src" / "planted.py"))
attempt("wrote course", lambda: write(course / "planted"))
attempt("wrote other notebook", lambda: write(course / "submitted" / "z_good" / "tiny" / "tiny.ipynb"))
attempt("wrote run lock", lambda: write("/run/lock/incidentlab-planted"))
attempt("wrote dev shm", lambda: write("/dev/shm/incidentlab-planted"))
attempt("scheduler", lambda: socket.create_connection((%(host)r, %(port)d), timeout=3).close() or "connected")
def fill():
    written = 0
    try:
        with open(pathlib.Path(os.environ["TMPDIR"]) / "fill", "wb") as out:
            while written < 4 << 30:
                out.write(b"x" * (1 << 20)); out.flush(); written += 1 << 20
    except OSError as exc:
        return [type(exc).__name__, written]
    finally:
        (pathlib.Path(os.environ["TMPDIR"]) / "fill").unlink(missing_ok=True)
    return ["filled", written]
attempt("fill", fill)
# a child with a clean environment, in a session of its own, whose parent exits at once
subprocess.Popen([sys.executable, "-c", "import os, subprocess, sys, time; os.fork() or time.sleep(300)"],
                 env={}, start_new_session=True)
print("ATTACKS", json.dumps(seen))"""


def attacks(course_root: Path, stash: Path, scheduler: tuple[str, int], module: str) -> str:
    host, port = scheduler
    return _SOURCE % {"course": str(course_root), "stash": str(stash), "host": host, "port": port, "module": module}


# HTML and JavaScript the kernel displays (with --execute, the feedback shows outputs).
DISPLAY = ("from IPython.display import HTML, Javascript, display\n"
           "display(HTML(\"<script>alert('html-script')</script><b onclick=\\\"alert('html-onclick')\\\">b</b>"
           "<a href='javascript:alert(1)'>a</a>\"))\n"
           "display(Javascript(\"alert('js-output')\"))")
