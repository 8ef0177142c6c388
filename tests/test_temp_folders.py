"""Nothing left behind: kernels, grading and the monitor remove their temporary folders when they end, when they
are interrupted, and, when killed outright, at the next kernel's start; a live process's folder is never removed.

Each process here runs with a temporary folder (TMPDIR) of the test's own, which must be empty at the end.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from incidentlab import temp_folders
from incidentlab.datasets import load_scenario, module_names
from incidentlab.paths import warehouse_path

MODULE = module_names()[0]

# A kernel's first cell, then a wait to be killed, interrupted or let go: prints its folder once it is ready.
KERNEL = """
import sys, time
from incidentlab.notebook import Lab
lab = Lab(sys.argv[1])
print(lab.path.parent, flush=True)
time.sleep(float(sys.argv[2]))
"""

# A grading process: the judge's locked copy of a warehouse, then a wait.
GRADER = """
import sys, time
from pathlib import Path
from incidentlab.grading.warehouses import LockedWarehouse
copy = LockedWarehouse(Path(sys.argv[1]))
print(copy.path.parent.parent, flush=True)
time.sleep(60)
"""


def _env(tmp: Path, warehouses: Path) -> dict:
    return {**os.environ, "TMPDIR": str(tmp), "INCIDENTLAB_WAREHOUSES": str(warehouses),
            "INCIDENTLAB_NO_WARM_UP": "1"}


def _start(code: str, args: list[str], env: dict) -> tuple[subprocess.Popen, Path]:
    """A Python process running ``code``, once it has printed the folder it made."""
    process = subprocess.Popen([sys.executable, "-c", code, *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline().strip()
    if not line:
        process.kill()
        pytest.fail(f"the process did not start: {process.communicate()[1][-2000:]}")
    process.stdout.close()  # nothing more is read from it
    return process, Path(line)


def _entries(tmp: Path) -> list[str]:
    return sorted(p.name for p in tmp.iterdir())


@pytest.fixture
def tmp(tmp_path: Path) -> Path:
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


@pytest.mark.slow
def test_a_killed_kernels_copy_is_removed_at_the_next_start(warehouses, tmp):
    env = _env(tmp, warehouses)
    killed, copy = _start(KERNEL, [MODULE, "60"], env)
    assert copy.parent == tmp and copy.name.startswith(f"incidentlab-{MODULE}-")
    killed.kill()  # SIGKILL: no exit handler runs
    killed.communicate()
    assert copy.exists(), "a killed kernel's copy is only found by the next start"
    following, second = _start(KERNEL, [MODULE, "0"], env)
    assert not copy.exists(), "the next kernel's start did not remove the killed kernel's copy"
    assert second.exists()
    following.communicate(timeout=60)
    assert following.returncode == 0
    assert _entries(tmp) == [], "a kernel that ended normally left its copy"


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGINT])
def test_an_interrupted_kernel_or_grader_removes_its_folder(warehouses, tmp, how):
    env = _env(tmp, warehouses)
    pristine = warehouse_path(MODULE, load_scenario(MODULE).first_stage)
    for code, args in ((KERNEL, [MODULE, "60"]), (GRADER, [str(pristine)])):
        process, folder = _start(code, args, env)
        assert folder.exists()
        process.send_signal(how)
        process.communicate(timeout=300)
        assert process.returncode != 0
        assert _entries(tmp) == [], f"{folder.name} was left behind after {how.name}"


@pytest.mark.slow
def test_an_interrupted_monitor_run_leaves_nothing(warehouses, tmp):
    env = _env(tmp, warehouses)
    cli = Path(sys.executable).with_name("incidentlab")
    for how in (signal.SIGINT, signal.SIGTERM):
        process = subprocess.Popen([str(cli), "monitor", MODULE], env=env, stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
        _wait_for(lambda: any(n.startswith("incidentlab-monitor-") for n in _entries(tmp)), process,
                  "monitor's folder")
        process.send_signal(how)
        process.communicate(timeout=300)
        assert _entries(tmp) == [], f"the monitor left {_entries(tmp)} after {how.name}"


# An instructor's autograde run on the tiny course (several SQL hogs, so it is still grading when interrupted).
AUTOGRADE = """
import sys
from pathlib import Path
from grading_corpus.mutations import CASES, build_export
from grading_corpus.tiny_course import MODULE, make_course
from incidentlab.grading.autograde import autograde
from incidentlab.grading.collect import collect
from incidentlab.grading.limits import Limits
from incidentlab.grading.release import release
root = Path(sys.argv[1])
course = make_course(root / "course")
release(course)
build_export(course, root / "export", {f"hog{i}": CASES["sql_hog"] for i in range(4)})
collect(course, root / "export")
print(root, flush=True)
autograde(course, workers=2, limits=Limits(query_timeout=5), progress=False, module=MODULE)
"""


def _sandboxes_of(pid: int) -> list[Path]:
    """The folders of sandboxes that process ``pid`` made in /dev/shm (other processes of the machine make theirs)."""
    shm = Path("/dev/shm")
    found = []
    for entry in shm.glob(f"{temp_folders.PREFIX}sandboxes-*") if shm.is_dir() else []:
        try:
            if (entry / temp_folders.OWNER_FILE).read_text().split()[0] == str(pid):
                found.append(entry)
        except (OSError, IndexError):
            continue
    return found


def _children(pid: int) -> dict[int, str | None]:
    """The child processes of ``pid`` (Linux), with when each started."""
    try:
        pids = [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return {}
    return {child: temp_folders.started(child) for child in pids}


def _wait_for(condition, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 300  # a loaded machine (make test runs two files at a time)
    while not condition():
        assert process.poll() is None, f"the process ended before the {what}: {process.communicate()[1][-2000:]}"
        assert time.monotonic() < deadline, f"no {what} in 300 s"
        time.sleep(0.05)


@pytest.mark.slow
@pytest.mark.parametrize("how", [signal.SIGINT, signal.SIGTERM])
def test_an_interrupted_autograde_run_leaves_nothing(warehouses, tmp, tmp_path, how):
    """Ctrl-C reaches the whole process group (the grader and its workers); SIGTERM the grader alone."""
    from incidentlab.paths import project_root

    env = {**_env(tmp, warehouses), "PYTHONPATH": str(project_root() / "tests")}
    process = subprocess.Popen([sys.executable, "-c", AUTOGRADE, str(tmp_path / "run")], env=env,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    assert process.stdout.readline().strip(), process.communicate()[1][-2000:]
    process.stdout.close()
    _wait_for(lambda: any(n.startswith("incidentlab-grade-") for n in _entries(tmp)), process,
              "grading process's warehouses")
    sandboxes = _sandboxes_of(process.pid)  # none where the machine has no /dev/shm: they are under TMPDIR
    workers = _children(process.pid)
    if how == signal.SIGINT:
        os.killpg(process.pid, how)
    else:
        process.send_signal(how)
    process.communicate(timeout=300)
    left = [p.name for p in sandboxes if p.exists()]
    assert _entries(tmp) == [] and left == [], f"left after {how.name}: {_entries(tmp)} {left}"
    deadline = time.monotonic() + 10  # multiprocessing's resource tracker ends once it sees the grader gone
    while (running := [pid for pid in workers if temp_folders.started(pid) == workers[pid]]) and (
            time.monotonic() < deadline):
        time.sleep(0.2)
    assert not running, f"the grader ended and left its workers {running} running (they write into its folders)"


def _owned_by(tmp: Path, pid: int, start: str | None) -> Path:
    folder = tmp / f"incidentlab-x-{pid}-{start}"
    folder.mkdir()
    (folder / temp_folders.OWNER_FILE).write_text(f"{pid} {start or ''}\n")
    return folder


@pytest.fixture
def another_users_process():
    """A live process of another user: a child run as nobody (when the tests run as root), or init."""
    if os.getuid() != 0:
        yield 1
        return
    process = subprocess.Popen(["sleep", "60"], user=65534, group=65534)
    try:
        yield process.pid
    finally:
        process.kill()
        process.wait()


def test_only_the_folders_of_ended_processes_are_removed(tmp, another_users_process):
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    live_other = _owned_by(tmp, another_users_process, temp_folders.started(another_users_process))
    live_mine = _owned_by(tmp, os.getpid(), temp_folders.started(os.getpid()))
    gone = _owned_by(tmp, dead.pid, "1")
    reused = _owned_by(tmp, os.getpid(), "1")  # this pid, but a process that started at another time
    unrecorded = tmp / "incidentlab-x-being-made"
    unrecorded.mkdir()
    removed = temp_folders.remove_orphans(tmp)
    assert sorted(removed) == sorted([gone, reused])
    assert live_other.exists() and live_mine.exists() and unrecorded.exists()


def test_a_process_hidden_from_proc_counts_as_alive(monkeypatch, another_users_process):
    """With /proc mounted hidepid, another user's process has no /proc entry: the kernel still knows it."""
    real = Path.read_text

    def hidden(self, *args, **kw):
        if str(self) == f"/proc/{another_users_process}/stat":
            raise FileNotFoundError(self)
        return real(self, *args, **kw)

    monkeypatch.setattr(Path, "read_text", hidden)
    assert temp_folders.started(another_users_process) == ""


def test_a_folder_is_removed_with_its_block_and_at_exit(tmp):
    code = ("from incidentlab import temp_folders\n"
            "with temp_folders.folder('x') as a: assert a.is_dir()\n"
            "assert not a.exists()\n"
            "print(temp_folders.make('y'))\n")
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, "TMPDIR": str(tmp)},
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()).parent == tmp
    assert _entries(tmp) == []
