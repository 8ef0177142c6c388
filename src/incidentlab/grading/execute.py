"""nbgrader's Execute step with the limits a batch needs, for instructors who want executed notebooks in the
feedback: a time budget per notebook, memory, CPU, process and file-size limits on the kernel process, a kernel
confined by ``incidentlab.grading.jail`` (a root of its own, loopback only, a user of its own, a folder of a fixed
size; the grader talks to it through Unix sockets in that folder), a kernel that dies only fails the cells left,
and a cap on the size of any single output. Killing the jail's first process kills every process the kernel
started. Scores never come from this run: ``GradeAnswers`` judges the answers after it."""

from __future__ import annotations

import os
import resource
import signal
import time

from jupyter_client import AsyncKernelManager
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Integer, Unicode

from incidentlab.grading.jail import Jail


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class JailedKernelManager(AsyncKernelManager):
    """A kernel manager whose kernel starts in ``jail`` and is reached through Unix sockets in its folder."""

    jail: Jail | None = None

    def format_kernel_cmd(self, extra_arguments=None):
        return self.jail.command(super().format_kernel_cmd(extra_arguments))

    def write_connection_file(self, **kwargs):
        super().write_connection_file(**kwargs)
        os.chown(self.connection_file, self.jail.uid, self.jail.uid)  # the kernel's user reads it

    async def _async_launch_kernel(self, kernel_cmd, **kw):
        await super()._async_launch_kernel(kernel_cmd, **kw)
        LAUNCHED.append(self.provisioner.process)


# The jails this process started (their first process, bubblewrap's): ``stop_jails`` kills any left running.
LAUNCHED: list = []


def stop_jails() -> None:
    """Kill every jail this process started that still runs; with its first process goes all it started."""
    while LAUNCHED:
        process = LAUNCHED.pop()
        if process.poll() is None:
            process.kill()
            process.wait()


class SandboxedExecute(Execute):
    # After a timeout the kernel is interrupted; a busy kernel may be slow to report idle. That is the
    # student's cell failing, not a reason to stop grading the notebook.
    raise_on_iopub_timeout = False
    iopub_timeout = 10

    notebook_timeout = Float(600.0, help="seconds a whole notebook may run; later cells are not run").tag(config=True)
    kernel_log = Unicode("", help="file for the kernel process's own stdout/stderr (default: the grader's)"
                         ).tag(config=True)
    memory_limit = Integer(4 << 30, help="bytes of address space the kernel and its children may map"
                           ).tag(config=True)
    jail = Dict({}, help="incidentlab.grading.jail.Jail's fields; empty: unconfined (autograde always gives one)"
                ).tag(config=True)
    max_processes = Integer(256, help="processes the kernel's user may have (with a jail: its own user)"
                            ).tag(config=True)

    def create_kernel_manager(self):
        if self.jail:
            self.kernel_manager_class = JailedKernelManager
        km = super().create_kernel_manager()
        if self.jail:  # the connection file and the sockets live in the kernel's folder, seen from both sides
            km.jail = Jail(**self.jail)
            km.transport, km.ip = "ipc", os.path.join(km.jail.folder, ".kernel")
            km.connection_file = os.path.join(km.jail.folder, ".kernel.json")
        return km

    def _limit_resources(self) -> None:
        """Runs in the kernel's process before it starts (and is inherited by everything it starts)."""
        cpu = int(self.notebook_timeout) + 60
        for limit, value in ((resource.RLIMIT_AS, self.memory_limit), (resource.RLIMIT_CPU, cpu),
                             (resource.RLIMIT_FSIZE, 1 << 30), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(limit, (value, value))
        if self.jail:  # counted for the kernel's user; bubblewrap itself runs as root
            resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))
            # The jail's first process ignores the interrupt nbclient sends the kernel's process group on a
            # timeout (it would die of it, and the kernel with it); the kernel sets its own handler.
            signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def async_start_new_kernel(self, **kwargs):
        kwargs.setdefault("preexec_fn", self._limit_resources)
        if not self.kernel_log:
            return await super().async_start_new_kernel(**kwargs)
        # The kernel process's own messages (not the student's output, which goes to the notebook) stay out of
        # the instructor's terminal. The child keeps its copy of the file descriptor.
        with open(self.kernel_log, "ab") as log:
            kwargs.setdefault("stdout", log)
            kwargs.setdefault("stderr", log)
            return await super().async_start_new_kernel(**kwargs)

    start_new_kernel = run_sync(async_start_new_kernel)  # nbclient binds the sync name to its own coroutine

    def preprocess(self, nb, resources=None, km=None):
        self._deadline = time.monotonic() + self.notebook_timeout
        self._stopped: str | None = None
        return super().preprocess(nb, resources, km)

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type != "code":
            return cell, resources
        if self._stopped is None and time.monotonic() >= self._deadline:
            self._stopped = f"not run: the notebook used its {self.notebook_timeout:.0f} s time limit"
        if self._stopped:
            cell.outputs = [_error("NotRun", self._stopped)]
            return cell, resources
        remaining = max(1, int(self._deadline - time.monotonic()) + 1)
        limit = self.timeout
        self.timeout = min(limit, remaining) if limit else remaining
        source = cell.source  # the hidden tests are not run: the kernel cannot read the key, the judge scores
        cell.source = _without_hidden_tests(source)
        try:
            return super().preprocess_cell(cell, resources, index)
        except CellTimeoutError:
            cell.outputs = list(cell.get("outputs", [])) + [
                _error("CellTimeoutError", f"stopped after the {limit} s per-cell time limit")]
            return cell, resources
        except DeadKernelError:
            self._stopped = "not run: the kernel died in an earlier cell"
            cell.outputs = list(cell.get("outputs", [])) + [
                _error("DeadKernelError", "the kernel died while running this cell (exit, crash or out of memory)")]
            return cell, resources
        finally:
            self.timeout = limit
            cell.source = source


def _without_hidden_tests(source: str) -> str:
    """``source`` without its ``### BEGIN HIDDEN TESTS`` … ``### END HIDDEN TESTS`` regions."""
    kept, hidden = [], False
    for line in source.splitlines(keepends=True):
        if line.strip().endswith("BEGIN HIDDEN TESTS"):
            hidden = True
        elif line.strip().endswith("END HIDDEN TESTS"):
            hidden = False
        elif not hidden:
            kept.append(line)
    return "".join(kept)


class TruncateOutputs(NbGraderPreprocessor):
    """Cut any output text longer than ``max_chars`` (LimitOutput counts lines; one line can be 50 MB)."""

    max_chars = Integer(100_000, help="characters kept of each output text").tag(config=True)

    def _cut(self, text):
        if isinstance(text, list):
            text = "".join(text)
        if isinstance(text, str) and len(text) > self.max_chars:
            return text[: self.max_chars] + f"\n... output truncated ({len(text):,} characters) ..."
        return text

    def preprocess_cell(self, cell, resources, index):
        for output in cell.get("outputs", []):
            if "text" in output:
                output.text = self._cut(output.text)
            for mime, value in list(output.get("data", {}).items()):
                if isinstance(value, (str, list)) and len(value) > self.max_chars:
                    output.data[mime] = self._cut(value)
            if "traceback" in output:
                output.traceback = [self._cut(line) for line in output.traceback]
        return cell, resources
