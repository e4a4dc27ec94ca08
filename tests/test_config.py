from __future__ import annotations

from pathlib import Path

import pytest

from sna.config import load_config
from sna.errors import ConfigError

MIN = """
area: Test
geography:
  boundaries: b.json
sources:
  police:
    format: police_uk
    path: police/
"""


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "sna.yml"
    p.write_text(text)
    return p


def test_paths_resolve_against_config_folder(tmp_path):
    cfg = load_config(write(tmp_path, MIN))
    assert cfg.resolve(cfg.geography.boundaries) == tmp_path / "b.json"
    assert cfg.sources["police"].default_disclosure == "none"
    assert cfg.baseline_years == 3
    assert cfg.output_dir("2020/21") == tmp_path / "outputs" / "test" / "2020-21"


def test_misspelt_key_names_file_key_and_suggestion(tmp_path):
    p = write(tmp_path, MIN.replace("    path: police/", "    path: police/\n    colums: {}"))
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and "sources.police.colums" in msg and "sources.police.columns" in msg


def test_top_level_typo(tmp_path):
    with pytest.raises(ConfigError, match="did you mean 'geography'"):
        load_config(write(tmp_path, MIN.replace("geography:", "geograhy:")))


def test_bad_values_and_yaml(tmp_path):
    with pytest.raises(ConfigError, match="sources.police.format"):
        load_config(write(tmp_path, MIN.replace("police_uk", "police_csv")))
    with pytest.raises(ConfigError, match="year"):
        load_config(write(tmp_path, MIN + "year: 2020/22\n"))
    with pytest.raises(ConfigError, match="line"):
        load_config(write(tmp_path, "area: [unclosed\n"))
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "missing.yml")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(write(tmp_path, "- a\n- b\n"))


def test_year_normalised(tmp_path):
    assert load_config(write(tmp_path, MIN + "year: FY2020-21\n")).year == "2020/21"


def test_duplicate_key_is_refused_naming_key_and_both_lines(tmp_path):
    # a second `police:` under `sources` used to replace the first one silently
    text = MIN + "  police:\n    format: police_extract\n    path: extract.csv\n"
    p = write(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_config(p)
    msg = str(e.value)
    assert str(p) in msg and "'police'" in msg and "lines 6 and 9" in msg
    # at the top level too, and through the command line: exit 2
    with pytest.raises(ConfigError, match="'area'.*lines 2 and 9"):
        load_config(write(tmp_path, MIN + "area: Other\n"))
    from sna.cli import main

    assert main(["validate", "--config", str(p)]) == 2
    # the same key in two different mappings is fine
    ok = MIN + "definition:\n  police_uk_serious_violence: [Robbery]\n"
    assert load_config(write(tmp_path, ok)).sources["police"].path == "police/"
