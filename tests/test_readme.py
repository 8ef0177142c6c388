"""The README's tests table (Tests, CI and timings) says what fails in every test file, and names no other."""

from __future__ import annotations

import re

from incidentlab.paths import project_root


def test_the_tests_table_lists_every_test_file():
    readme = (project_root() / "README.md").read_text(encoding="utf-8")
    rows = [line for line in readme.splitlines() if line.startswith("| `tests/test_")]
    listed = {name for row in rows for name in re.findall(r"`(tests/test_\w+\.py)`", row.split(" | ")[0])}
    present = {f"tests/{p.name}" for p in (project_root() / "tests").glob("test_*.py")}
    assert not present - listed, f"add to the README's tests table: {', '.join(sorted(present - listed))}"
    assert not listed - present, f"the README's tests table names missing files: {', '.join(sorted(listed - present))}"
