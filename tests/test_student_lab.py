"""The student's JupyterLab (`make lab`) shows none of nbgrader's instructor tools; the authors' may.

nbgrader installs server extensions (formgrader, course list, assignment list, validate) and a JupyterLab
extension (@jupyter/nbgrader: formgrader, create assignment, course list, ... plugins). `make lab` puts
src/incidentlab/student_lab/ first on Jupyter's config path, which switches both off. The test asks make for
the exact command `make lab` runs, starts that JupyterLab on a free loopback port, and reads what it serves.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from incidentlab.paths import project_root

TOKEN = "incidentlab-student-lab-test"
NBGRADER_LAB_EXTENSION = "@jupyter/nbgrader"
# Every route nbgrader's server extensions add (formgrader, course_list, assignment_list, validate_assignment).
NBGRADER_ROUTES = ["/formgrader", "/formgrader/gradebook", "/formgraders", "/assignments", "/courses",
                   "/nbgrader_version"]


def make_lab_command() -> str:
    """The shell line `make lab` runs, without making its prerequisites (warehouses, workspace)."""
    done = subprocess.run(["make", "--no-print-directory", "-n", "-o", "warehouses", "-o", "workspace", "lab"],
                          cwd=project_root(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].endswith(" workspace/"), done.stdout
    return lines[0]


def nbgrader_plugins() -> tuple[Path, list[str]]:
    """The installed @jupyter/nbgrader lab extension's folder and the ids of the plugins its code registers."""
    from jupyter_core.paths import jupyter_path

    for base in jupyter_path("labextensions"):
        folder = Path(base) / NBGRADER_LAB_EXTENSION
        if (folder / "package.json").is_file():
            code = "\n".join(p.read_text(encoding="utf-8", errors="replace") for p in folder.glob("static/*.js"))
            return folder, sorted(set(re.findall(r'"(@jupyter/nbgrader:[\w-]+)"', code)))
    pytest.skip("nbgrader's JupyterLab extension is not installed here: nothing to hide")


def is_disabled(plugin: str, disabled: list[str]) -> bool:
    """JupyterLab's PageConfig.Extension.isDisabled: the plugin id, or its whole package, is listed."""
    return plugin in disabled or plugin.split(":", 1)[0] in disabled


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> tuple[int, str]:
    request = urllib.request.Request(url, headers={"Authorization": f"token {TOKEN}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode("utf-8", errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", errors="replace")


def page_config(html: str) -> dict:
    found = re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html, re.S)
    assert found, "the /lab page embeds no jupyter-config-data"
    return json.loads(found.group(1))


@contextlib.contextmanager
def running_student_lab(root: Path, scratch: Path, env_extra: dict | None = None):
    """Start JupyterLab the way `make lab` does, on ``root`` (a free loopback port, the token ``TOKEN``); yield
    (base URL, log file); stop it. Its log and runtime files (the server's connection file) go to ``scratch``."""
    log = scratch / "jupyter.log"
    port = free_port()
    command = make_lab_command()[: -len("workspace/")] + " ".join([
        f"'{root}'", "--no-browser", f"--port={port}", "--ServerApp.port_retries=0", "--ServerApp.ip=127.0.0.1",
        f"--IdentityProvider.token={TOKEN}",
    ])  # `make lab` itself adds --allow-root when run as root
    (scratch / "runtime").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "JUPYTER_RUNTIME_DIR": str(scratch / "runtime"), **(env_extra or {})}
    with log.open("w") as out:
        server = subprocess.Popen(["bash", "-c", command], cwd=project_root(), env=env, stdout=out,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab stopped (exit {server.returncode}):\n{log.read_text()[-3000:]}")
            try:
                if get(f"{base}/api/status")[0] == 200:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within 90 s:\n{log.read_text()[-3000:]}")
            time.sleep(0.2)
        yield base, log
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture(scope="module")
def student_lab(tmp_path_factory):
    """(base URL, log file) of a JupyterLab started the way `make lab` starts it, stopped after the tests."""
    with running_student_lab(tmp_path_factory.mktemp("student_workspace"),
                             tmp_path_factory.mktemp("student_lab")) as lab:
        yield lab


def test_make_lab_points_jupyter_at_the_student_config():
    folder = project_root() / "src" / "incidentlab" / "student_lab"
    assert f'JUPYTER_CONFIG_PATH="{folder}' in make_lab_command()
    server = json.loads((folder / "jupyter_server_config.json").read_text(encoding="utf-8"))
    assert server["ServerApp"]["jpserver_extensions"] and not any(server["ServerApp"]["jpserver_extensions"].values())
    lab = json.loads((folder / "labconfig" / "page_config.json").read_text(encoding="utf-8"))
    assert lab["disabledExtensions"] == {NBGRADER_LAB_EXTENSION: True}


@pytest.mark.slow
def test_student_lab_disables_every_nbgrader_plugin(student_lab):
    base, log = student_lab
    folder, plugins = nbgrader_plugins()
    assert f"{NBGRADER_LAB_EXTENSION}:formgrader" in plugins, f"no formgrader plugin found in {folder}"
    status, html = get(f"{base}/lab")
    assert status == 200, html[:500]
    config = page_config(html)
    federated = [e["name"] for e in config.get("federated_extensions", [])]
    disabled = config.get("disabledExtensions", [])
    if NBGRADER_LAB_EXTENSION in federated:
        enabled = [p for p in plugins if not is_disabled(p, disabled)]
        assert not enabled, f"the student's JupyterLab loads nbgrader's plugins {enabled} (disabled: {disabled})"


@pytest.mark.slow
def test_student_lab_serves_no_nbgrader_route(student_lab):
    base, log = student_lab
    served = {route: status for route in NBGRADER_ROUTES if (status := get(f"{base}{route}")[0]) != 404}
    assert not served, f"the student's JupyterLab serves nbgrader's {served}"
    loaded = re.findall(r"^.*nbgrader\S* \| extension.*$", log.read_text(), re.M)
    assert not loaded, "the student's JupyterLab loaded nbgrader's server extensions:\n" + "\n".join(loaded)


def test_authors_lab_keeps_the_tools():
    done = subprocess.run(["make", "--no-print-directory", "-n", "-o", "warehouses", "lab-masters"],
                          cwd=project_root(), capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "student_lab" not in done.stdout and done.stdout.rstrip().endswith(" notebooks/"), done.stdout
