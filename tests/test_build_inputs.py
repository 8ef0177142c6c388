"""The Makefile rebuilds the warehouses when a module the build imports changes: build_inputs finds them all."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from incidentlab.build_inputs import build_inputs
from incidentlab.paths import project_root


def test_every_module_the_build_imports_is_an_input():
    loaded = subprocess.run(
        [sys.executable, "-c", "import sys, incidentlab.build\n"
                               "print('\\n'.join(m.__file__ for n, m in sys.modules.items() "
                               "if n.split('.')[0] == 'incidentlab'))"],
        capture_output=True, text=True, check=True).stdout.split()
    inputs = set(build_inputs())
    assert {Path(f).resolve() for f in loaded} <= inputs
    assert project_root() / "src" / "incidentlab" / "paths.py" in inputs


def test_the_makefile_runs_it_with_a_bare_python():
    """Before the virtual environment exists: no import of the package or of a dependency."""
    script = project_root() / "src" / "incidentlab" / "build_inputs.py"
    out = subprocess.run([sys.executable, "-I", "-S", str(script)], capture_output=True, text=True, check=True,
                         cwd=project_root()).stdout.split()
    assert "src/incidentlab/build.py" in out and "src/incidentlab/parsed_projects.py" in out
