"""Autograde every collected submission: parallel sandboxes, one writer, resumable after a crash."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from incidentlab import temp_folders
from incidentlab.errors import IncidentLabError
from incidentlab.grading import atomic, gradebook
from incidentlab.grading.course import Course
from incidentlab.grading.limits import Limits
from incidentlab.grading.plain import plain
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
            out += [f"    {plain(s)}: {r['status']} - {plain(r['reason'])}" for s, r in flagged.items()]
        return out


def _add_files(digest, folder: Path, pattern: str = "*") -> None:
    for path in sorted(p for p in folder.rglob(pattern) if p.is_file()):
        digest.update(str(path.relative_to(folder)).encode() + b"\0")
        with path.open("rb") as data:  # by chunks: a warehouse is tens of MB
            for chunk in iter(lambda: data.read(1 << 20), b""):
                digest.update(chunk)
        digest.update(b"\0")


def shared_fingerprint(course: Course, limits: Limits, execute: bool = False, module: str | None = None) -> str:
    """What every student's grade depends on besides the submission: the release, the answer key, the questions
    (exercises.toml), the warehouses the key is judged on and the limits. Computed once per run."""
    from incidentlab.exercises import questions_file
    from incidentlab.grading.answer_key import key_folder

    module = module or course.assignment
    digest = hashlib.sha256(json.dumps([asdict(limits), execute], sort_keys=True).encode())
    for folder in (course.release, key_folder(course.assignment)):
        _add_files(digest, folder)
    digest.update(questions_file(module).read_bytes())
    _add_files(digest, warehouses_dir() / module, "*.duckdb")
    return digest.hexdigest()


def fingerprint(course: Course, student: str, limits: Limits, execute: bool = False, shared: str | None = None) -> str:
    """Changes when the submission or anything of ``shared_fingerprint`` changes (then the student is graded
    again)."""
    digest = hashlib.sha256((shared or shared_fingerprint(course, limits, execute)).encode())
    _add_files(digest, course.submitted(student))
    return digest.hexdigest()


def _is_done(course: Course, student: str, print_: str, gb) -> bool:
    path = course.result_file(student)
    if not path.exists():
        return False
    try:
        record = json.loads(path.read_text())
    except ValueError:
        return False
    return record.get("fingerprint") == print_ and gradebook.has_submission(course, student, gb)


def _crashed(job: Job, error: str) -> dict:
    """Not the student's doing: nothing goes to the gradebook, and the next run grades the student again."""
    return {"student": job.student, "assignment": job.assignment, "fingerprint": None,
            "status": "grader-error", "reason": f"the grader itself failed: {error}",
            "notebooks": {}, "autograded": None, "seconds": 0.0}


def record(course: Course, result: dict, gb=None) -> None:
    """The single writer: autograded notebooks, then the gradebook (``gb``, held open for a run), then the result
    file that marks it done."""
    student = result["student"]
    if result["status"] == "grader-error":
        atomic.write_json(course.result_file(student), result)
        return
    source = Path(result["autograded"]) if result.get("autograded") else None
    if source is not None and source.is_dir():
        atomic.replace_tree(source, course.autograded(student))
    else:  # nothing could be graded: no feedback from an earlier submission's notebooks
        shutil.rmtree(course.autograded(student), ignore_errors=True)
    gradebook.merge(course, result, gb)
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


def _sandboxes() -> Path:
    """A folder for this run's sandboxes, in memory where the system has a tmpfs: a sandbox's gradebook
    commits often, and nothing in it outlives the submission."""
    shm = Path("/dev/shm")
    return temp_folders.make("sandboxes", shm if shm.is_dir() and os.access(shm, os.W_OK) else None)


def _run_on_dask(jobs: list[Job], scheduler: str, summary: Summary, done) -> None:
    """The same jobs on a dask cluster's workers (started with --nthreads 1): a submission whose worker dies
    more often than dask allows fails with the reason; the others go on."""
    from distributed import Client

    with Client(scheduler) as client:
        summary.workers = len(client.scheduler_info().get("workers", {})) or summary.workers
        futures = {client.submit(grade, job, pure=False, key=f"grade-{job.student}-{job.fingerprint[:12]}"): job
                   for job in jobs}
        try:
            for future in _as_completed(futures):
                job = futures[future]
                try:
                    result = future.result()
                except Exception as exc:
                    result = (_failed(job, f"the grading process died while grading this submission ({exc})")
                              if type(exc).__name__ == "KilledWorker"
                              else _crashed(job, f"{type(exc).__name__}: {exc}"))
                done(result, job)
        finally:
            for future in futures:
                future.cancel()


def _as_completed(futures):
    from distributed import as_completed

    return as_completed(list(futures))


def autograde(course: Course, students: list[str] | None = None, *, workers: int | None = None,
              scheduler: str | None = None, limits: Limits = Limits(),
              force: bool = False, progress: bool = True, module: str | None = None, execute: bool = False,
              on_result=None) -> Summary:
    """Grade each collected submission not graded yet (or all with ``force``); merge results as they come."""
    started = time.monotonic()
    course.notebooks()  # a release must exist
    if execute:
        from incidentlab.grading.jail import available

        if (why := available()) is not None:
            raise IncidentLabError(f"--execute runs the students' code, which must be confined, and {why}; fix "
                                   "that, or grade without --execute")
    module = module or course.assignment
    warehouses = _check_warehouses(module)
    students = students if students is not None else course.students()
    work = course.pipeline / "work"
    template = gradebook.make_template(course, work / "template" / "gradebook.db")
    sandboxes = _sandboxes()
    summary = Summary(workers=workers or os.cpu_count() or 1)

    try:
        with gradebook.open_gradebook(course) as gb:
            jobs = []
            shared = shared_fingerprint(course, limits, execute, module)
            for student in students:
                print_ = fingerprint(course, student, limits, execute, shared)
                if not force and _is_done(course, student, print_, gb):
                    summary.skipped.append(student)
                    continue
                jobs.append(Job(student=student, assignment=course.assignment, course_id=course.course_id,
                                submitted=str(course.submitted(student)), release=str(course.release),
                                source=str(course.source), template_db=str(template), warehouses=str(warehouses),
                                sandbox=str(sandboxes / student), fingerprint=print_,
                                config=dict(course.config), limits=limits, module=module, execute=execute))
            _run(jobs, summary, course, gb, workers=summary.workers, scheduler=scheduler, limits=limits,
                 progress=progress, on_result=on_result)
    finally:
        if execute:  # a kernel's folder is a filesystem of its own
            from incidentlab.grading.jail import release

            release(sandboxes)
        temp_folders.remove(sandboxes)
        temp_folders.remove_orphans()  # the private warehouses of workers killed for a submission
    summary.seconds = time.monotonic() - started
    return summary


def _run(jobs: list[Job], summary: Summary, course: Course, gb, *, workers: int, scheduler: str | None,
         limits: Limits, progress: bool, on_result) -> None:
    from tqdm import tqdm

    bar = tqdm(total=len(jobs), desc="autograde", unit="submission", disable=not progress)

    def done(result: dict, job: Job) -> None:
        record(course, result, gb)
        shutil.rmtree(job.sandbox, ignore_errors=True)
        summary.results[job.student] = result
        bar.update()
        if on_result is not None:
            on_result(result)

    if scheduler is None:
        def finished(job: Job, kind: str, payload) -> None:
            outcomes = {"ok": lambda: payload, "lost": lambda: _failed(job, payload),
                        "error": lambda: _crashed(job, payload)}
            done(outcomes[kind](), job)

        def lost(pid: int) -> None:  # a lost worker's jail died with it (its processes too); its folder is left
            if any(job.execute for job in jobs):
                from incidentlab.grading.jail import release
                from incidentlab.grading.sandbox import kernel_folder

                release(kernel_folder(Path(jobs[0].sandbox).parent, pid))

        Pool(workers, grade, timeout=limits.submission_timeout, on_lost=lost).run(jobs, finished)
    else:
        _run_on_dask(jobs, scheduler, summary, done)
    bar.close()
