"""Worker processes that grade one submission at a time each, and lose only that submission when one dies.

``concurrent.futures.ProcessPoolExecutor`` breaks as a whole when one worker dies: every pending submission
fails with it. Here each worker has its own pipe; a worker that dies or outlives the wall-clock limit of the
submission it holds is killed and replaced, that submission alone is reported, and the others go on.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import signal
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import wait
from typing import Any


def _serve(conn, fn) -> None:
    while True:
        try:
            job = conn.recv()
        except EOFError:
            return
        if job is None:
            return
        try:
            conn.send(("ok", fn(job)))
        except BaseException as exc:  # the grader's own failure, reported for this job only
            conn.send(("error", f"{type(exc).__name__}: {exc}"))


@contextlib.contextmanager
def _sigterm_unwinds() -> Iterator[None]:
    """While the pool runs, SIGTERM ends the grader as Ctrl-C does: by unwinding, so the workers are stopped and
    the run's folders removed on the way out (a worker left running would write into a removed sandbox)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class _Worker:
    process: Any
    conn: Any
    job: Any = None
    deadline: float = 0.0


class Pool:
    def __init__(self, workers: int, fn: Callable, timeout: float, on_lost: Callable[[int], None] | None = None):
        self.size = max(1, workers)
        self.fn = fn
        self.timeout = timeout
        self.on_lost = on_lost  # called with a lost worker's pid once it is dead (to clean up after it)
        self._context = multiprocessing.get_context("spawn")

    def _start(self) -> _Worker:
        parent, child = self._context.Pipe()
        process = self._context.Process(target=_serve, args=(child, self.fn), daemon=True)
        process.start()
        child.close()
        return _Worker(process, parent)

    def run(self, jobs, on_done: Callable[[Any, str, Any], None]) -> None:
        """Grade every job; ``on_done(job, kind, payload)`` in the calling process as each one ends: kind "ok"
        with the result, "error" with the grader's exception, "lost" with why the worker was lost."""
        with _sigterm_unwinds():
            self._run(deque(jobs), on_done)

    def _run(self, pending: deque, on_done: Callable[[Any, str, Any], None]) -> None:
        workers: list[_Worker] = []
        try:
            for _ in range(min(self.size, len(pending))):
                workers.append(self._start())
            while pending or any(w.job is not None for w in workers):
                for worker in workers:
                    if worker.job is None and pending:
                        worker.job, worker.deadline = pending.popleft(), time.monotonic() + self.timeout
                        worker.conn.send(worker.job)
                busy = [w for w in workers if w.job is not None]
                wait_for = min(w.deadline for w in busy) - time.monotonic()
                ready = wait([w.conn for w in busy] + [w.process.sentinel for w in busy], timeout=max(wait_for, 0))
                for i, worker in enumerate(workers):
                    if worker.job is None:
                        continue
                    job = worker.job
                    if worker.conn in ready or worker.process.sentinel in ready:
                        try:
                            kind, payload = worker.conn.recv()
                        except (EOFError, OSError):
                            workers[i] = self._replace(worker)
                            on_done(job, "lost", "the grading process died while grading this submission "
                                                 f"(exit code {worker.process.exitcode})")
                            continue
                        worker.job = None
                        on_done(job, kind, payload)
                    elif time.monotonic() >= worker.deadline:
                        workers[i] = self._replace(worker)
                        on_done(job, "lost", f"grading it took longer than the {self.timeout:g} s limit per "
                                             "submission; it was stopped")
        finally:
            for worker in workers:
                self._stop(worker)

    def _replace(self, worker: _Worker) -> _Worker:
        worker.process.kill()
        worker.process.join(5)
        worker.conn.close()
        if self.on_lost is not None:
            self.on_lost(worker.process.pid)
        return self._start()

    @staticmethod
    def _stop(worker: _Worker) -> None:
        with contextlib.suppress(OSError):  # BrokenPipeError is one
            worker.conn.send(None)
        worker.process.join(5)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join(5)
        worker.conn.close()
