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
    extras = project["optional-dependencies"]
    wanted = dict(_split(r) for r in project["dependencies"] + extras["test"] + extras["bench"])
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

    assert sna.__version__ == __import__("importlib.metadata").metadata.version(sna.DISTRIBUTION)
    assert sna.periods.FinancialYear is sna.FinancialYear
    for name in sna.__all__:  # every public name resolves
        assert hasattr(sna, name), name


# modules sna imports that a declared dependency brings (IPython with ipykernel, cycler and
# mpl_toolkits with matplotlib), and optional ones imported only when asked for
_BROUGHT = {"IPython": "ipykernel", "cycler": "matplotlib", "mpl_toolkits": "matplotlib"}
_OPTIONAL = {
    "folium": "interactive maps (sna.maps), when installed",
    "contextily": "web map tiles (sna.maps), when installed",
    "pandera": "sna.schemas.incidents_schema (the test extra)",
}


def test_what_sna_imports_is_declared_and_test_or_bench_libraries_are_not_imported():
    import ast
    import importlib.metadata as md

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_split(r)[0].split("[")[0].replace("_", "-") for r in project["dependencies"]}
    extras_only = {_split(r)[0].replace("_", "-") for r in
                   project["optional-dependencies"]["test"] + project["optional-dependencies"]["bench"]}
    dists = md.packages_distributions()
    undeclared = set()
    for path in (ROOT / "sna").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names}:
                if top in sys.stdlib_module_names or top == "sna" or top in _OPTIONAL:
                    continue
                if top in _BROUGHT:
                    assert _BROUGHT[top] in declared, top
                    continue
                dist = {d.lower().replace("_", "-") for d in dists.get(top, [top])}
                if not dist & declared:
                    undeclared.add(f"{path.relative_to(ROOT)}: {top}"
                                   + (" (a test or bench extra)" if dist & extras_only else ""))
    assert not undeclared, "imported but not a dependency:\n" + "\n".join(sorted(undeclared))
