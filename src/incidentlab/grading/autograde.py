"""Autograde every collected submission: parallel sandboxes, one writer, resumable after a crash."""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import json
import os
import shutil
import time
from collections import Counter
from concurrent.futures.process import BrokenProcessPool
from dataclasses import asdict, dataclass, field
from pathlib import Path

from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic, gradebook
from incidentlab.grading.course import Course
from incidentlab.grading.limits import Limits
from incidentlab.grading.pool import Pool
from incidentlab.grading.sandbox import Job, grade
from incidentlab.paths import warehouses_dir


@dataclass
class Summary:
    results: dict[str, dict] = field(default_factory=dict)  # student -> result, graded in this run
    skipped: list[str] = field(default_factory=list)  # already graded, unchanged
    seconds: float = 0.0
    workers: int = 0

    def lines(self) -> list[str]:
        n = len(self.results)
        each = f" ({self.seconds / n:.1f} s each)" if n else ""
        out = [f"autograded {n} submission(s) in {self.seconds:.1f} s{each} with {self.workers} worker(s)"
               + (f"; {len(self.skipped)} unchanged, kept" if self.skipped else "")]
        for status, count in sorted(Counter(r["status"] for r in self.results.values()).items()):
            out.append(f"  {status:<8} {count}")
        flagged = {s: r for s, r in sorted(self.results.items()) if r["reason"]}
        if flagged:
            out.append("  to look at:")
            out += [f"    {s}: {r['status']} - {r['reason']}" for s, r in flagged.items()]
        return out


def fingerprint(course: Course, student: str, limits: Limits, execute: bool = False) -> str:
    """Changes when the submission, the release, the answer key or the limits change (then the student is
    graded again)."""
    from incidentlab.grading.answer_key import key_folder

    digest = hashlib.sha256(json.dumps([asdict(limits), execute], sort_keys=True).encode())
    for folder in (course.submitted(student), course.release, key_folder(course.assignment)):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            digest.update(str(path.relative_to(folder)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def _is_done(course: Course, student: str, print_: str) -> bool:
    path = course.result_file(student)
    if not path.exists():
        return False
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return False
    return record.get("fingerprint") == print_ and gradebook.has_submission(course, student)


def _crashed(job: Job, exc: BaseException) -> dict:
    """Not the student's doing: nothing goes to the gradebook, and the next run grades the student again."""
    return {"student": job.student, "assignment": job.assignment, "fingerprint": None,
            "status": "grader-error", "reason": f"the grader itself failed: {type(exc).__name__}: {exc}",
            "notebooks": {}, "autograded": None, "seconds": 0.0}


def record(course: Course, result: dict) -> None:
    """The single writer: autograded notebooks, then the gradebook, then the result file that marks it done."""
    student = result["student"]
    if result["status"] == "grader-error":
        atomic.write_json(course.result_file(student), result)
        return
    source = Path(result["autograded"]) if result.get("autograded") else None
    if source is not None and source.is_dir():
        atomic.replace_tree(source, course.autograded(student))
    else:  # nothing could be graded: no feedback from an earlier submission's notebooks
        shutil.rmtree(course.autograded(student), ignore_errors=True)
    gradebook.merge(course, result)
    kept = {k: v for k, v in result.items() if k != "autograded"}
    atomic.write_json(course.result_file(student), kept)


def _failed(job: Job, reason: str) -> dict:
    """The submission stopped its grader (killed it, or outlived the limit): it scores 0, with the reason."""
    return {"student": job.student, "assignment": job.assignment, "fingerprint": job.fingerprint,
            "status": "failed", "reason": reason, "notebooks": {}, "autograded": None, "seconds": 0.0}


def _check_warehouses(module: str) -> Path:
    """Every warehouse the answer key is judged on must be built (and the key must load)."""
    from incidentlab.grading.answer_key import judge_for, versions

    stages = sorted({q.stage for q in judge_for(module).questions.values()})
    missing = [str(path) for stage in stages for _, _, path in versions(module, stage) if not path.exists()]
    if missing:
        raise IncidentLabError(f"warehouses are missing ({', '.join(missing)}); run `make warehouses` first")
    return warehouses_dir()


def make_executor(workers: int, scheduler: str | None):
    """The standard Executor interface: local processes, or a dask cluster's workers."""
    if scheduler:
        from distributed import Client

        client = Client(scheduler)
        return client.get_executor(pure=False), client
    import multiprocessing

    return cf.ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")), None


def autograde(course: Course, students: list[str] | None = None, *, workers: int | None = None,
              scheduler: str | None = None, executor: cf.Executor | None = None, limits: Limits = Limits(),
              force: bool = False, progress: bool = True, module: str | None = None, execute: bool = False,
              on_result=None) -> Summary:
    """Grade each collected submission not graded yet (or all with ``force``); merge results as they come."""
    from tqdm import tqdm

    started = time.monotonic()
    course.notebooks()  # a release must exist
    module = module or course.assignment
    warehouses = _check_warehouses(module)
    students = students if students is not None else course.students()
    work = course.pipeline / "work"
    template = gradebook.make_template(course, work / "template" / "gradebook.db")
    summary = Summary(workers=workers or os.cpu_count() or 1)

    jobs = []
    for student in students:
        print_ = fingerprint(course, student, limits, execute)
        if not force and _is_done(course, student, print_):
            summary.skipped.append(student)
            continue
        jobs.append(Job(student=student, assignment=course.assignment, course_id=course.course_id,
                        submitted=str(course.submitted(student)), release=str(course.release),
                        source=str(course.source), template_db=str(template), warehouses=str(warehouses),
                        sandbox=str(work / "sandboxes" / student), fingerprint=print_,
                        config=dict(course.config), limits=limits, module=module, execute=execute))

    bar = tqdm(total=len(jobs), desc="autograde", unit="submission", disable=not progress)

    def done(result: dict, job: Job) -> None:
        record(course, result)
        shutil.rmtree(job.sandbox, ignore_errors=True)
        summary.results[job.student] = result
        bar.update()
        if on_result is not None:
            on_result(result)

    if executor is None and scheduler is None:
        def finished(job: Job, kind: str, payload) -> None:
            if job.execute:
                from incidentlab.grading.execute import kill_sandbox_processes

                kill_sandbox_processes(Path(job.sandbox))
            outcomes = {"ok": lambda: payload, "lost": lambda: _failed(job, payload),
                        "error": lambda: _crashed(job, RuntimeError(payload))}
            done(outcomes[kind](), job)

        Pool(summary.workers, grade, timeout=limits.submission_timeout).run(jobs, finished)
        jobs = []
    attempts = 0
    while jobs:
        attempts += 1
        own, client = (None, None) if executor is not None else make_executor(summary.workers, scheduler)
        pool = executor or own
        if client is not None:
            summary.workers = len(client.scheduler_info().get("workers", {})) or summary.workers
        broken: list[Job] = []
        futures: dict = {}
        try:
            futures = {pool.submit(grade, job): job for job in jobs}
            for future in cf.as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except BrokenProcessPool as exc:
                    if attempts < 3:
                        broken.append(job)
                        continue
                    result = _crashed(job, exc)
                except Exception as exc:
                    result = _crashed(job, exc)
                done(result, job)
        finally:
            if isinstance(own, cf.ProcessPoolExecutor):
                own.shutdown(wait=True, cancel_futures=True)
            elif own is not None:
                for future in futures:
                    future.cancel()
                own.shutdown(wait=True)
            if client is not None:
                client.close()
        jobs = broken
    bar.close()
    summary.seconds = time.monotonic() - started
    return summary
