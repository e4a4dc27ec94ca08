"""The package installs as documented, and its two dependency lists agree."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# pip name -> conda-forge name, where they differ
CONDA_NAMES = {"duckdb": "python-duckdb", "dask[dataframe]": "dask"}


def _split(req: str) -> tuple[str, str]:
    m = re.match(r"^([A-Za-z0-9_.\-\[\]]+)\s*(.*)$", req.strip())
    return m.group(1).lower(), m.group(2).replace(" ", "")


def test_environment_yml_mirrors_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = dict(_split(r) for r in project["dependencies"] + project["optional-dependencies"]["test"])
    wanted = {CONDA_NAMES.get(k, k): v for k, v in wanted.items()}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda = dict(_split(d) for d in env["dependencies"] if isinstance(d, str))
    conda.pop("pip", None)
    assert conda.pop("python") == ">=" + project["requires-python"].lstrip(">=")
    assert conda == wanted
    pip_part = [d for d in env["dependencies"] if isinstance(d, dict)][0]["pip"]
    assert pip_part == ["-e ."]


def test_import_sna_is_light():
    code = (
        "import sys, sna; heavy = [m for m in ('pandas', 'geopandas', 'matplotlib', "
        "'statsmodels', 'esda', 'papermill', 'dask') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


def test_version_and_lazy_modules():
    import sna

    assert sna.__version__ == __import__("importlib.metadata").metadata.version("sna")
    assert sna.periods.FinancialYear is sna.FinancialYear
    # every public name resolves once its room exists (rooms are added issue by issue)
    import importlib.util

    for name in sna.__all__:
        module = sna._LAZY_NAMES.get(name, name)
        if name in sna._SUBMODULES or name in sna._LAZY_NAMES:
            if importlib.util.find_spec(f"sna.{module}") is None:
                continue
        assert hasattr(sna, name), name
