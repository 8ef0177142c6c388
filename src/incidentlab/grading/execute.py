"""nbgrader's Execute step with the limits a batch needs, for instructors who want executed notebooks in the
feedback: a time budget per notebook, the kernel's own environment (HOME, TMPDIR, warehouses of the sandbox),
memory, CPU, process and file-size limits on the kernel process, a user of its own in a private view of the
file system (``incidentlab.grading.jail``, when the grader runs as root), a kernel that dies only fails the
cells left, every process the kernel started killed at the end, and a cap on the size of any single output.
Scores never come from this run: ``GradeAnswers`` judges the answers after it."""

from __future__ import annotations

import os
import resource
import time
from pathlib import Path

from nbclient.exceptions import CellTimeoutError, DeadKernelError
from nbclient.util import run_sync
from nbformat.notebooknode import NotebookNode
from nbgrader.preprocessors import Execute, NbGraderPreprocessor
from traitlets import Dict, Float, Integer, Unicode

from incidentlab.grading.jail import Jail, kill_processes


def _error(ename: str, message: str) -> NotebookNode:
    return NotebookNode(output_type="error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])


class SandboxedExecute(Execute):
    # After a timeout the kernel is interrupted; a busy kernel may be slow to report idle. That is the
    # student's cell failing, not a reason to stop grading the notebook.
    raise_on_iopub_timeout = False
    iopub_timeout = 10

    notebook_timeout = Float(600.0, help="seconds a whole notebook may run; later cells are not run").tag(config=True)
    kernel_env = Dict({}, help="environment variables set for the kernel, on top of the grader's").tag(config=True)
    kernel_log = Unicode("", help="file for the kernel process's own stdout/stderr (default: the grader's)"
                         ).tag(config=True)
    memory_limit = Integer(4 << 30, help="bytes of address space the kernel and its children may map"
                           ).tag(config=True)
    jail = Dict({}, help="incidentlab.grading.jail.Jail's fields (``give``: the kernel's connection file); empty: "
                "none").tag(config=True)
    max_processes = Integer(256, help="processes the kernel's user may have (with a jail: its own user)"
                            ).tag(config=True)

    def create_kernel_manager(self):
        km = super().create_kernel_manager()
        if self.jail:  # root's runtime folder is out of the jail's sight: the file goes to the sandbox
            [km.connection_file] = self.jail["give"]
        return km

    def _limit_resources(self) -> None:
        """Runs in the kernel's process before it starts (and is inherited by everything it starts)."""
        cpu = int(self.notebook_timeout) + 60
        for limit, value in ((resource.RLIMIT_AS, self.memory_limit), (resource.RLIMIT_CPU, cpu),
                             (resource.RLIMIT_FSIZE, 1 << 30), (resource.RLIMIT_CORE, 0)):
            resource.setrlimit(limit, (value, value))
        if self.jail:
            resource.setrlimit(resource.RLIMIT_NPROC, (self.max_processes, self.max_processes))
            Jail(**self.jail).enter()

    async def async_start_new_kernel(self, **kwargs):
        kwargs.setdefault("env", {**os.environ, **self.kernel_env})
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


def kill_sandbox_processes(sandbox: Path) -> list[int]:
    """Kill every process left from a sandbox's kernel, even one that left its process group (``setsid``):
    they are found by the ``INCIDENTLAB_SANDBOX`` variable the kernel's environment carries."""
    marker = f"INCIDENTLAB_SANDBOX={sandbox}".encode()
    return kill_processes(lambda proc: marker in (proc / "environ").read_bytes().split(b"\0"))
