"""Set-up without make: the distribution name (free on the package index, not `sna`), and the
README's cross-platform set-up."""

from __future__ import annotations

import tomllib
from importlib.metadata import distribution
from pathlib import Path

import sna

ROOT = Path(__file__).resolve().parents[1]


def test_distribution_name_is_not_the_taken_sna():
    name = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["name"]
    # "sna" on the package index is another project ("Search N Act"): installing it would
    # install someone else's code
    assert name == sna.DISTRIBUTION == "sna-vru"
    dist = distribution(name)
    assert sna.__version__ == dist.version
    assert any(str(f).startswith("sna/") or str(f).endswith(".pth") for f in dist.files or [])


def test_readme_sets_up_without_make():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Set-up without `make`"):]
    section = section[:section.index("\n## ", 3)]
    for needed in ("python -m venv .venv", "-m pip install .", "sna run", "sna-vru", "HTTPS_PROXY",
                   "sna fetch police", "Windows", "macOS", "untested"):
        assert needed in section, needed
    # the quick start stays two commands
    quick = readme[readme.index("## Quick start"):readme.index("## Set-up without `make`")]
    assert "make demo" in quick and "make test" in quick
