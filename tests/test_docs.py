"""The documentation: its generators read the code correctly, and the site builds with -W.

The full build (``test_docs_build``) is marked slow: it runs Sphinx with warnings as errors,
so a broken cross-reference, a docstring that does not render or a config key or error
class the pages no longer match fails CI. The other tests check the generators in
``docs/_ext`` directly and are fast.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"

if importlib.util.find_spec("sphinx") is None:  # pragma: no cover - docs extra not installed
    pytest.skip("sphinx is not installed: pip install -e '.[docs]' to test the documentation",
                allow_module_level=True)

sys.path.insert(0, str(DOCS / "_ext"))

import sna_api  # noqa: E402
import sna_chapters  # noqa: E402
import sna_config_ref  # noqa: E402
import sna_errors  # noqa: E402


# ---- configuration reference -------------------------------------------------------------
def _all_paths(model, prefix=""):
    """Every key path of a pydantic model, found independently of the extension."""
    from typing import get_args

    from pydantic import BaseModel

    out = []
    for name, f in model.model_fields.items():
        if f.exclude:
            continue
        path = prefix + name
        out.append(path)
        ann = f.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            out += _all_paths(ann, path + ".")
        for arg in get_args(ann):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out += _all_paths(arg, path + ".<name>.")
    return out


def test_config_reference_lists_every_key_once():
    from sna.config import Config

    keys = sna_config_ref.walk(Config)
    paths = [k.path for k in keys]
    assert paths == _all_paths(Config)
    assert len(paths) == len(set(paths))
    by_path = {k.path: k for k in keys}
    assert by_path["geography.boundaries"].required
    assert by_path["baseline_years"].default == 3 and by_path["baseline_years"].constraints == ["≥ 1", "≤ 10"]
    assert by_path["sources.<name>.format"].type.startswith("'police_uk' | 'police_extract'")
    assert by_path["sources"].mapping and not by_path["geography"].mapping
    assert by_path["engine.name"].default == "pandas"


def test_complete_example_config_is_valid():
    import yaml

    from sna.config import Config

    text = "\n".join(sna_config_ref.example_yaml(Config))
    cfg = Config.model_validate(yaml.safe_load(text))
    assert cfg.sources["police"].format == "police_extract"
    # every key of the model appears in the example
    for path in _all_paths(Config):
        assert path.rsplit(".", 1)[-1] + ":" in text, path


# ---- error catalogue ---------------------------------------------------------------------
def test_error_classes_match_sna_errors():
    import sna.errors

    found = sna_errors.error_classes()
    for name in sna.errors.__all__:
        assert name in found, name
    assert found["ConfigError"].base == "SnaError"
    assert "ReconciliationError" not in found  # a bug in sna, not a user error


def test_error_scan_finds_real_messages():
    raised = sna_errors.scan()
    config_msgs = [r.message for r in raised if r.cls == "ConfigError"]
    assert any(m.startswith("config file not found") for m in config_msgs)
    # a ValueError in a pydantic validator is what the user sees as a ConfigError
    assert any(r.via_validator and r.message == "at least one source is needed" for r in raised)
    # every class raised somewhere is known
    assert {r.cls for r in raised} <= set(sna_errors.error_classes())


def test_error_scan_on_a_fixture_package(tmp_path):
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "errors.py").write_text(textwrap.dedent('''
        class SnaError(Exception):
            """Base."""
        class InputFormatError(SnaError):
            """Unreadable file."""
        class DeepError(InputFormatError):
            """Two levels down."""
    '''))
    (pkg / "reader.py").write_text(textwrap.dedent('''
        from .errors import InputFormatError, DeepError
        def read(path, n):
            if n:
                raise InputFormatError(f"expected {n} fields, found " + str(n - 1), file=path, line=3)
            err = DeepError("plain message")
            raise err
    '''))
    classes = sna_errors.error_classes(pkg)
    assert classes["DeepError"].base == "InputFormatError"
    raised = sna_errors.scan(pkg)
    assert [(r.cls, r.message, r.where, r.function) for r in raised] == [
        ("InputFormatError", "expected {n} fields, found {str(n - 1)}", ("file", "line"), "read"),
        ("DeepError", "plain message", (), "read"),
    ]


# ---- API pages and chapters --------------------------------------------------------------
def test_public_modules_skip_private_ones():
    mods = sna_api.public_modules()
    assert "sna.config" in mods and "sna.errors" in mods
    assert not any(part.startswith("_") for m in mods for part in m.split("."))


def test_reexports_are_linked_to_their_home():
    import sna

    here, elsewhere, failed = sna_api.classify(sna)
    assert elsewhere.get("SnaError") == "sna.errors.SnaError"
    assert not failed
    assert sna_api._home_of("sna.Config") == "sna.config.Config"


def test_chapter_description_from_a_notebook(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# 4. Geography\n\nWhere violence happens."),
        nbformat.v4.new_code_cell("config_path = None", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell(
            "ch.heading('Hotspots')\n"
            "ch.figure(fig, 'gi', f'Gi* hotspots in {fy}.')\n"
            "if not ok:\n"
            "    ch.not_available('times', 'data.police.uk has no times, so ' + what + '.')\n"
            "src = ch.sources_of('ecds', 'ambulance')\n"
        ),
    ]
    path = tmp_path / "04_geography.ipynb"
    nbformat.write(nb, path)
    info = sna_chapters.describe(path)
    assert info["title"] == "4. Geography" and info["intro"] == "Where violence happens."
    assert info["sections"] == ["Hotspots"]
    assert info["figures"] == ["Gi* hotspots in …."]
    assert info["missing"] == ["data.police.uk has no times, so ….", ]
    assert info["formats"] == ["ambulance", "ecds"]


# ---- the build ---------------------------------------------------------------------------
@pytest.mark.slow
def test_docs_build(tmp_path):
    """`make docs` in a temporary folder: warnings (broken references) are errors."""
    out = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
         "-d", str(tmp_path / "doctrees"), str(DOCS), str(tmp_path / "html")],
        capture_output=True, text=True, cwd=ROOT, env={**__import__("os").environ, "MPLBACKEND": "Agg"},
    )
    assert out.returncode == 0, out.stderr[-6000:]
    html = tmp_path / "html"
    for page in ("index", "getting-started", "configuration", "input-formats", "chapters",
                 "methods", "troubleshooting", "architecture", "changelog", "command-line"):
        assert (html / f"{page}.html").exists(), page
    config = (html / "configuration.html").read_text(encoding="utf-8")
    assert 'id="confval-geography.boundaries"' in config
    assert (html / "api" / "generated" / "sna.rates.html").exists()
