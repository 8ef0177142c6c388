"""The worker pool: a submission that kills its worker or hangs fails alone, and the others are graded."""

import time

import pytest
from grading_corpus.pool_jobs import work

from incidentlab.grading.pool import Pool

pytestmark = pytest.mark.slow


def test_a_dead_or_hung_worker_costs_only_its_own_job():
    jobs = ["a", "dies", "b", "hangs", "c", "raises", "d"]
    outcomes = {}
    started = time.monotonic()
    Pool(2, work, timeout=8).run(jobs, lambda job, kind, payload: outcomes.__setitem__(job, (kind, payload)))
    assert time.monotonic() - started < 60
    assert {job: outcomes[job] for job in "abcd"} == {job: ("ok", f"graded {job}") for job in "abcd"}
    assert outcomes["dies"][0] == "lost" and "died while grading" in outcomes["dies"][1]
    assert outcomes["hangs"][0] == "lost" and "longer than the 8 s limit" in outcomes["hangs"][1]
    assert outcomes["raises"] == ("error", "ValueError: the grader has a bug")


def test_no_job_no_worker():
    Pool(2, work, timeout=5).run([], lambda *a: pytest.fail("nothing to do"))
