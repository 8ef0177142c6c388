"""Jobs for the worker pool's tests: importable by name in a spawned process."""

import os
import time


def work(job: str) -> str:
    if job == "dies":
        os._exit(9)
    if job == "hangs":
        time.sleep(600)
    if job == "raises":
        raise ValueError("the grader has a bug")
    time.sleep(0.2)
    return f"graded {job}"
