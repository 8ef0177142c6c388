"""Where an executed submission's kernel runs (``--execute``): an unprivileged user of its own, in a private view
of the file system.

The grader (root) sets it up in the kernel's process between fork and exec:

- a mount namespace of the kernel's own, in which the course's folders are covered by empty, read-only
  filesystems: the project (answer keys, masters, git history, built warehouses), the instructor's course
  (gradebook, other submissions), every sandbox of the run, root's home and the shared temporary folders;
- in that view, only what the kernel needs is put back: the Python it runs (read-only), the package's source,
  ``datasets/`` and ``dbt/`` (read-only) and its own sandbox (writable);
- then it becomes a user id of its own (no name, no groups), unique to the grading process, so that the sandbox's
  processes are all found and killed by their user id at the end, and ``RLIMIT_NPROC`` counts only them.

Linux only; it needs root (or CAP_SYS_ADMIN and CAP_SETUID). ``available()`` says whether it can work here.
"""

from __future__ import annotations

import ctypes
import os
import signal
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

CLONE_NEWNS = 0x00020000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
FIRST_UID = 200_000  # far above the ids of real users; the grading process's pid is added


def uid_for(pid: int) -> int:
    """A user id no one else has: one per grading process (pids are unique while the process lives)."""
    return FIRST_UID + pid


def available() -> str | None:
    """None when a jail can be made here, else why not."""
    if not Path("/proc/self/ns/mnt").exists():
        return "kernels can be confined only on Linux"
    if os.geteuid() != 0:
        return "confining the kernels needs the grader to run as root (or in a container as root)"
    return None


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    return libc


def _check(result: int, what: str) -> None:
    if result != 0:
        errno = ctypes.get_errno()
        raise OSError(errno, f"{what}: {os.strerror(errno)}")


@dataclass(frozen=True)
class Jail:
    uid: int
    hide: Sequence[str]  # folders covered by an empty read-only filesystem
    read_only: Sequence[str]  # put back, read-only
    writable: Sequence[str]  # put back, writable (the sandbox)
    scratch: Sequence[str] = ()  # shared temporary folders, covered by a small private writable filesystem
    give: Sequence[str] = ()  # files handed to the user before it starts (the connection file)

    def enter(self) -> None:
        """Runs in the kernel's process after fork, before exec, as root; it ends as ``uid``."""
        libc = _libc()
        _check(libc.unshare(CLONE_NEWNS), "unshare")
        _check(libc.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None), "make mounts private")
        # Handles on what is put back, taken in the new namespace before anything is covered.
        keep = [(path, os.open(path, os.O_PATH), path in self.writable)
                for path in sorted(set(self.read_only) | set(self.writable), key=len) if os.path.exists(path)]
        covers = sorted([(p, False) for p in set(self.hide)] + [(p, True) for p in set(self.scratch)],
                        key=lambda c: len(c[0]))
        covers = [(p, w) for p, w in covers if not any(p.startswith(outer + "/") for outer, _ in covers)]
        for path, _ in covers:
            if os.path.isdir(path):
                _check(libc.mount(b"tmpfs", path.encode(), b"tmpfs", MS_NOSUID | MS_NODEV,
                                  b"mode=1777,size=64m"), f"cover {path}")
        for path, fd, writable in keep:
            os.makedirs(path, exist_ok=True)  # inside a cover: an empty folder to mount on
            source = f"/proc/self/fd/{fd}".encode()
            _check(libc.mount(source, path.encode(), None, MS_BIND | MS_REC, None), f"put back {path}")
            if not writable:
                _check(libc.mount(None, path.encode(), None, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, None),
                       f"make {path} read-only")
            os.close(fd)
        for path, writable in covers:  # what was made inside the covers stays; nothing more can be written
            if not writable and os.path.ismount(path):
                _check(libc.mount(None, path.encode(), None, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV, None),
                       f"make the cover of {path} read-only")
        for path in self.give:
            os.chown(path, self.uid, self.uid)
        os.setgroups([])
        os.setgid(self.uid)
        os.setuid(self.uid)


def hand_over(folder: Path, uid: int) -> None:
    """Give the sandbox's files to the kernel's user (the grader, root, can still read and remove them)."""
    for root, _, files in os.walk(folder):
        os.chown(root, uid, uid)
        for name in files:
            os.chown(os.path.join(root, name), uid, uid, follow_symlinks=False)


def kill_processes(chosen) -> list[int]:
    """Kill every process (but this one) for which ``chosen(Path("/proc/<pid>"))`` is true."""
    killed = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if not chosen(entry):
                continue
            os.kill(int(entry.name), signal.SIGKILL)
            killed.append(int(entry.name))
        except OSError:  # gone already, or not ours to read
            pass
    return killed


def _uids(proc: Path) -> list[str]:
    status = (proc / "status").read_text()
    return next((line.split()[1:] for line in status.splitlines() if line.startswith("Uid:")), [])


def kill_user(uid: int) -> list[int]:
    """Kill every process of the user id (all of one sandbox's processes, whatever their group or session)."""
    return kill_processes(lambda proc: str(uid) in _uids(proc))
