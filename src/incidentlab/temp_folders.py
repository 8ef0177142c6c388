"""The project's temporary folders (``incidentlab-<kind>-*``): none outlives the process that made it.

A folder goes when its process ends (``atexit``), when it is interrupted (SIGINT raises KeyboardInterrupt, which
unwinds to ``atexit``; SIGTERM is caught here) and, when the process was killed outright (SIGKILL, out of memory),
at the next ``make()`` of any process of the project, or when ``remove_orphans()`` runs in a process that outlived
it. Each folder records its owner: the process id and the process's start time, so a reused process id is not
taken for the owner. A folder whose owner still runs, whoever's it is (another student's kernel on a shared
server), is never removed; a folder without a readable record (one being made right now) is left alone.
"""

from __future__ import annotations

import atexit
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PREFIX = "incidentlab-"
OWNER_FILE = ".incidentlab-owner"

_mine: dict[Path, int] = {}  # folder -> the pid that made it (a forked child must not remove its parent's)
_lock = threading.Lock()
_hooked = {"exit": False, "sigterm": False}


def started(pid: int) -> str | None:
    """When process ``pid`` started (clock ticks since boot, from /proc), "" where /proc is not there (then the
    process id alone names the owner), None when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:  # no /proc here, or another user's process hidden (hidepid): ask the kernel
        return "" if _exists(pid) else None
    return stat.rsplit(")", 1)[1].split()[19]  # field 22; the command name before ")" may hold spaces


def _exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def make(kind: str, where: Path | None = None) -> Path:
    """A new folder ``incidentlab-<kind>-*`` in ``where`` (the temporary folder), removed when this process ends."""
    remove_orphans(where)
    _hook_signals()
    pid = os.getpid()
    with _signals_held():  # an interruption comes once the folder is registered, never between
        folder = Path(tempfile.mkdtemp(prefix=f"{PREFIX}{kind}-", dir=where))
        with _lock:
            _mine[folder] = pid
        (folder / OWNER_FILE).write_text(f"{pid} {started(pid) or ''}\n")
    return folder


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGINT and SIGTERM wait (they are delivered at the end of the block)."""
    held = {signal.SIGINT, signal.SIGTERM}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def remove(folder: Path) -> None:
    """Remove a folder ``make()`` made (at once; it is no longer removed at exit)."""
    with _lock:
        _mine.pop(Path(folder), None)
    shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def folder(kind: str) -> Iterator[Path]:
    """``make(kind)`` for the length of a ``with`` block."""
    made = make(kind)
    try:
        yield made
    finally:
        remove(made)


def owner_gone(entry: Path) -> bool:
    """Whether the process that made ``entry`` has ended (False when ``entry`` records no owner)."""
    try:
        pid_text, _, start = (entry / OWNER_FILE).read_text().strip().partition(" ")
        pid = int(pid_text)
    except (OSError, ValueError):
        return False  # no record yet, or not ours to judge
    now = started(pid)
    return now is None or (bool(start) and bool(now) and now != start)


def remove_orphans(where: Path | None = None) -> list[Path]:
    """Remove every project folder in ``where`` (the temporary folder) whose owner process has gone."""
    root = Path(where or tempfile.gettempdir())
    try:
        entries = [e for e in root.iterdir() if e.name.startswith(PREFIX)]
    except OSError:
        return []
    removed = []
    for entry in entries:
        if entry.is_dir() and not entry.is_symlink() and owner_gone(entry):
            shutil.rmtree(entry, ignore_errors=True)  # another user's: the sticky temp folder may refuse
            if not entry.exists():
                removed.append(entry)
    return removed


def owned_by_me(entry: Path) -> bool:
    """Whether this process made ``entry`` (and has not removed or let go of it)."""
    with _lock:
        return _mine.get(Path(entry)) == os.getpid()


def let_go(folder: Path) -> None:
    """Keep ``folder`` when this process ends (its owner record stays: it is removed once the process has gone)."""
    with _lock:
        _mine.pop(Path(folder), None)


def remove_mine() -> None:
    """Remove every folder this process made (what exit does; for a process that ends without it)."""
    pid = os.getpid()
    with _lock:
        folders = [f for f, owner in _mine.items() if owner == pid]
        for f in folders:
            _mine.pop(f)
    for f in folders:
        shutil.rmtree(f, ignore_errors=True)


def _on_sigterm(signum, frame) -> None:
    remove_mine()
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGTERM)  # then end as SIGTERM would have: the parent sees the same exit


def _hook_signals() -> None:
    """Remove this process's folders at exit and on SIGTERM (when nothing else handles SIGTERM)."""
    if not _hooked["exit"]:
        _hooked["exit"] = True
        atexit.register(remove_mine)
    # signal handlers can only be set from the main thread: a folder made in another one is hooked by the next
    if not _hooked["sigterm"] and threading.current_thread() is threading.main_thread():
        _hooked["sigterm"] = True
        if signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
            signal.signal(signal.SIGTERM, _on_sigterm)
