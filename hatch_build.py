"""Puts each module's questions (notebooks/<module>/exercises.toml) into the wheel, as
incidentlab/exercises/<module>.toml, and the checks' fingerprints of its answers
(warehouses/<module>/<module>.fingerprints.json, which `make warehouses` and `make release` write;
INCIDENTLAB_WAREHOUSES names another folder) as incidentlab/exercises/<module>.fingerprints.json.

A student who installs the wheel has no checkout; the visible checks read these. They hold no answer: the
fingerprints are salted slow hashes (incidentlab.checking.fingerprint). A wheel built before the warehouses has
no fingerprints, and its checks test the shape of an answer only.
"""

import os
from pathlib import Path

from hatchling.builders.hooks.plugin.interface import BuildHookInterface

FINGERPRINTS = ".fingerprints.json"  # incidentlab.checking.fingerprint.FILE_SUFFIX (the hook cannot import it)


class CustomBuildHook(BuildHookInterface):
    def initialize(self, version: str, build_data: dict) -> None:
        if version == "editable":  # an editable install reads them from the checkout
            return
        # incidentlab.paths.warehouses_dir(), which the hook cannot import
        warehouses = Path(os.environ.get("INCIDENTLAB_WAREHOUSES") or Path(self.root, "warehouses"))
        for path in sorted(Path(self.root, "notebooks").glob("*/exercises.toml")):
            module = path.parent.name
            build_data["force_include"][str(path)] = f"incidentlab/exercises/{module}.toml"
            fingerprints = warehouses / module / f"{module}{FINGERPRINTS}"
            if fingerprints.is_file():
                build_data["force_include"][str(fingerprints)] = f"incidentlab/exercises/{module}{FINGERPRINTS}"
