"""Where an executed submission's kernel runs (``--execute``): a new root built from an allow-list, with
bubblewrap (Debian's ``bubblewrap``).

- The root holds only what is named: the system's shared libraries, the Python the kernel runs, the package,
  ``datasets/``, ``dbt/``, the modules' question files and the warehouses the notebook opens (all read-only), and
  the kernel's own folder (writable), a tmpfs of a fixed size. Nothing else of the machine exists in it: no
  project copy elsewhere on the disk, no ``/run/lock``, no other submission's notebook; its ``/tmp`` and
  ``/dev/shm`` are small filesystems of its own.
- Namespaces of its own: the network (loopback only: nothing of the host, a dask scheduler included, is
  reachable), process ids (it sees no process of the grader's, and when its first process dies the kernel kills
  every process in it: nothing survives, without a pass over ``/proc``), IPC and host name.
- It runs as a user id of its own (no name, no groups, no capabilities), unique to the grading process.
- The grader talks to the kernel through Unix sockets in the kernel's folder (ZeroMQ's ``ipc`` transport), the
  only way in or out.

Linux only; the grader must run as root, with ``bwrap`` installed. ``available()`` says whether it can work here.
"""

from __future__ import annotations

import ctypes
import functools
import os
import shutil
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

SUBFOLDERS = ("home", "tmp", "work")  # of the kernel's folder
SCRATCH = 16 << 20  # bytes of the jail's own /tmp and /dev/shm (Python's semaphores need /dev/shm)
FIRST_UID = 200_000  # far above the ids of real users; the grading process's pid is added
MNT_DETACH = 2
# Run inside the jail as root, it becomes the kernel's user and starts the kernel (no shell or tool of the
# system's is needed in the jail: the kernel's own Python does it).
_BECOME = ("import os, sys; uid = int(sys.argv[1]); os.setgroups([]); os.setgid(uid); os.setuid(uid); "
           "os.execv(sys.argv[2], sys.argv[2:])")


def uid_for(pid: int) -> int:
    """A user id no one else has: one per grading process (pids are unique while the process lives)."""
    return FIRST_UID + pid


@functools.lru_cache(maxsize=1)
def available() -> str | None:
    """None when a jail can be made here, else why not (in words an instructor can act on)."""
    if not Path("/proc/self/ns/mnt").exists():
        return "kernels can be confined only on Linux"
    if os.geteuid() != 0:
        return "confining the kernels needs the grader to run as root (or in a container as root)"
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return "bubblewrap is not installed (`apt-get install bubblewrap`)"
    probe = subprocess.run([bwrap, *_NAMESPACES, "--ro-bind", "/", "/", "true"], capture_output=True, text=True)
    if probe.returncode != 0:
        return f"this machine does not let bubblewrap make namespaces ({probe.stderr.strip() or probe.returncode})"
    return None


_NAMESPACES = ("--unshare-net", "--unshare-pid", "--unshare-ipc", "--unshare-uts", "--unshare-cgroup-try",
               "--die-with-parent")


def _libc():
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mount.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p]
    libc.umount2.argtypes = [ctypes.c_char_p, ctypes.c_int]
    return libc


@dataclass(frozen=True)
class Jail:
    uid: int
    folder: str  # the kernel's own writable folder: a tmpfs of ``size`` bytes, at the same path inside and out
    read_only: Sequence[str]  # what the kernel may read, at the same paths inside (missing ones are skipped)
    size: int = 256 << 20
    env: Mapping[str, str] = field(default_factory=dict)  # the kernel's whole environment

    def make_folder(self) -> None:
        """Mount the kernel's folder (a fresh tmpfs of its size, owned by the kernel's user) with its
        ``SUBFOLDERS`` (it starts in work). Runs as root."""
        release(Path(self.folder))
        os.makedirs(self.folder, exist_ok=True)
        options = f"size={self.size},mode=0700,uid={self.uid},gid={self.uid}".encode()
        if _libc().mount(b"tmpfs", self.folder.encode(), b"tmpfs", 2 | 4 | 8, options) != 0:  # nosuid,nodev,noexec
            errno = ctypes.get_errno()
            raise OSError(errno, f"mount a tmpfs on {self.folder}: {os.strerror(errno)}")
        for sub in SUBFOLDERS:
            os.mkdir(os.path.join(self.folder, sub))
            os.chown(os.path.join(self.folder, sub), self.uid, self.uid)

    def command(self, argv: Sequence[str]) -> list[str]:
        """``argv`` (a command of the kernel's Python) as the jail runs it."""
        args = [shutil.which("bwrap") or "bwrap", *_NAMESPACES, "--clearenv", "--proc", "/proc", "--dev", "/dev"]
        for scratch in ("/tmp", "/dev/shm"):  # small and private (first: the folder may be inside one of them)
            args += ["--perms", "1777", "--size", str(SCRATCH), "--tmpfs", scratch]
        for name, value in sorted(self.env.items()):
            args += ["--setenv", name, value]
        for link in ("/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"):  # merged /usr: links into it
            if os.path.islink(link):
                args += ["--symlink", os.readlink(link), link]
        binds = sorted({p for p in self.read_only if os.path.exists(p)}, key=lambda p: (p.count("/"), p))
        made: set[str] = set()
        for path in [*binds, self.folder]:
            for parent in reversed(Path(path).parents[:-1]):  # folders on the way, readable by the kernel
                if str(parent) not in made and not any(_within(str(parent), b) for b in binds):
                    made.add(str(parent))
                    args += ["--perms", "0755", "--dir", str(parent)]
        for path in binds:  # a link (/etc/localtime) is replaced by what it points at
            args += ["--ro-bind", os.path.realpath(path), path]
        args += ["--bind", self.folder, self.folder, "--chdir", os.path.join(self.folder, "work"),
                 "--", argv[0], "-I", "-S", "-c", _BECOME, str(self.uid), *argv]
        return args


def _within(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder + "/")


def release(folder: Path) -> None:
    """Unmount every filesystem mounted at or under ``folder`` (a kernel's folder; quietly nothing if none)."""
    prefix = str(folder.resolve()) if folder.exists() else str(folder)
    try:
        lines = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return
    points = [line.split()[4].encode().decode("unicode_escape") for line in lines]
    libc = _libc()
    for point in sorted((p for p in points if _within(p, prefix)), key=len, reverse=True):
        libc.umount2(point.encode(), MNT_DETACH)
