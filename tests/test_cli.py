"""The command line: exit codes, messages without tracebacks, validate, init."""

from __future__ import annotations

import dataclasses
import json
import shutil
import sys
from pathlib import Path

import geopandas as gpd
import pytest
import yaml

from sna import cli
from sna.cli import main
from sna.datasets import nottingham_sample_config
from sna.io import FORMATS

TESTS = Path(__file__).parent
POLICE = TESTS / "data" / "police_uk"
SAMPLE = nottingham_sample_config().parent


def write_config(tmp_path: Path, police: Path, boundaries: Path = SAMPLE / "boundaries", body: str = "") -> Path:
    p = tmp_path / "sna.yml"
    p.write_text(
        "area: Test\nyear: 2018/19\npartnerships:\n  Nottingham City: [E06000018]\n"
        f"geography:\n  boundaries: {boundaries}\n{body}"
        f"sources:\n  police:\n    format: police_uk\n    path: {police}\n"
        f"cache: {tmp_path / 'cache'}\n"
    )
    return p


def one_paragraph(err: str) -> str:
    """The error paragraph (progress lines start with 'sna: ' and are not errors)."""
    assert "Traceback" not in err
    paragraph = err[err.index("sna: error:"):].strip()
    assert "\n\n" not in paragraph
    return " ".join(paragraph.split())


def test_version(capsys):
    import sna

    assert main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"sna {sna.__version__}"


def test_usage_errors_exit_2(capsys):
    assert main([]) == 2
    assert main(["validate", "--bogus"]) == 2
    assert main(["frobnicate"]) == 2


# ---- validate -----------------------------------------------------------------------------
def test_validate_json_on_the_sample(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "--config", str(nottingham_sample_config()), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    police = out["sources"]["police"]
    assert {"rows_read", "rows_kept", "set_aside", "months", "missing_months", "share_geocoded"} <= set(police)
    assert police["rows_read"] == 24988 == police["rows_kept"] + sum(police["set_aside"].values())
    assert police["set_aside"] == {"no_location": 616, "out_of_area": 249}
    assert police["months"] == ["2018-10", "2018-11", "2018-12", "2019-01", "2019-02"]
    assert police["missing_months"] == [] and police["share_geocoded"] == 1.0
    g = out["geography"]
    assert g["lsoas"] == 182 and g["districts"] == 1
    assert g["partnerships"]["Nottingham City"]["districts"] == ["E06000018"]
    assert out["synthetic"] is False


def test_validate_text_default_config(tmp_path, monkeypatch, capsys):
    import sna.datasets

    monkeypatch.chdir(tmp_path)
    # no --config: the bundled demo (here pointed at the real sample, to stay fast)
    monkeypatch.setattr(sna.datasets, "demo_config", nottingham_sample_config)
    assert main(["validate"]) == 0
    cap = capsys.readouterr()
    assert "rows read 24,988 = kept 24,123 + set aside 865" in cap.out
    assert "no_location 616, out_of_area 249" in cap.out
    assert "validating the bundled data" in cap.err and "reading 2018-10" in cap.err  # progress on stderr


def test_validate_says_synthetic(tmp_path, capsys):
    p = write_config(tmp_path, POLICE)
    p.write_text(p.read_text().replace("area: Test", "area: Test\nsynthetic: true"))
    assert main(["validate", "--config", str(p), "--quiet"]) == 0
    cap = capsys.readouterr()
    assert "SYNTHETIC DATA" in cap.out and cap.err == ""
    assert main(["validate", "--config", str(p), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["synthetic"] is True


# ---- each failure: exit 2, one paragraph naming the file and line or key, no traceback ----
def _police_folder(tmp_path: Path, content: bytes) -> tuple[Path, Path]:
    d = tmp_path / "police"
    d.mkdir()
    f = d / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(content)
    return d, f


OCT = (POLICE / "2018-10" / "2018-10-nottinghamshire-street.csv").read_bytes()


@pytest.mark.parametrize(
    "content, expect",
    [
        (OCT[: OCT.rindex(b"Nottinghamshire Police")], ["line 40", "truncated"]),
        (OCT + b'x,2018-10,"Notts', ["line 41", "never closed"]),
        (OCT.replace(b"Crime type", b"Type", 1), ["line 1", "missing column(s) 'Crime type'"]),
        (OCT.replace(b"Petrol Station", b"P\xe9trol Station", 1), ["line 4", "not UTF-8"]),
        (b"", ["empty"]),
    ],
    ids=["truncated", "unterminated-quote", "wrong-header", "not-utf8", "empty"],
)
def test_bad_police_files_exit_2(tmp_path, capsys, content, expect):
    d, f = _police_folder(tmp_path, content)
    code = main(["validate", "--config", str(write_config(tmp_path, d)), "--quiet"])
    assert code == 2
    cap = capsys.readouterr()
    msg = one_paragraph(cap.err)
    assert str(f) in msg, msg
    for e in expect:
        assert e in msg, msg
    assert cap.out == ""


def test_boundary_without_lsoa_column_exits_2(tmp_path, capsys):
    b = gpd.read_file(SAMPLE / "boundaries" / "E06000018.json").head(3)
    b = b.rename(columns={"LSOA11CD": "zone", "LSOA11NM": "label"}).assign(zone=["a", "b", "c"])
    bf = tmp_path / "zones.geojson"
    b.to_file(bf, driver="GeoJSON")
    code = main(["validate", "--config", str(write_config(tmp_path, POLICE, boundaries=bf)), "--quiet"])
    assert code == 2
    msg = one_paragraph(capsys.readouterr().err)
    assert str(bf) in msg and "no LSOA code column" in msg and "zone, label" in msg


def test_misspelt_config_key_exits_2(tmp_path, capsys):
    p = write_config(tmp_path, POLICE)
    p.write_text(p.read_text().replace("boundaries:", "boundries:"))
    assert main(["validate", "--config", str(p)]) == 2
    msg = one_paragraph(capsys.readouterr().err)
    assert str(p) in msg and "geography.boundries" in msg and "did you mean 'geography.boundaries'" in msg


def test_missing_config_and_missing_input_exit_2(tmp_path, capsys):
    assert main(["validate", "--config", str(tmp_path / "none.yml")]) == 2
    assert "not found" in one_paragraph(capsys.readouterr().err)
    assert main(["validate", "--config", str(write_config(tmp_path, tmp_path / "nowhere")), "--quiet"]) == 2
    msg = one_paragraph(capsys.readouterr().err)
    assert "not found" in msg and "nowhere" in msg


def test_debug_shows_the_traceback(tmp_path, capsys):
    d, _ = _police_folder(tmp_path, b"")
    assert main(["--debug", "validate", "--config", str(write_config(tmp_path, d)), "--quiet"]) == 2
    assert "Traceback" in capsys.readouterr().err


def test_unsupported_format_exits_2(tmp_path, capsys, monkeypatch):
    from sna import clean

    monkeypatch.setitem(FORMATS, "ambulance", dataclasses.replace(FORMATS["ambulance"], module="sna.io._nothing_here"))
    monkeypatch.delitem(clean.SOURCE_CLEANERS, "ambulance", raising=False)
    p = write_config(tmp_path, POLICE)
    p.write_text(p.read_text().replace("format: police_uk", "format: ambulance"))
    assert main(["validate", "--config", str(p), "--quiet"]) == 2
    assert "'ambulance' is not supported yet" in one_paragraph(capsys.readouterr().err)


# ---- run / check-outputs: one parser ---------------------------------------------------------
def test_run_refuses_an_unknown_option(capsys):
    assert main(["run", "--year", "2020/21", "--future-option"]) == 2
    assert "sna run: error: unrecognised arguments: --future-option" in capsys.readouterr().err


def test_run_passes_every_option_to_report_run(monkeypatch):
    import types

    from sna import report

    calls = []

    def fake_run(config, year, **kw):
        calls.append((config, year, kw))
        return types.SimpleNamespace(exit_code=1, ok=False, failed=[], pdf_message=None)

    monkeypatch.setattr(report, "run", fake_run)
    assert main(["run", "--config", "c.yml", "--year", "2020/21", "--chapters", "4,5",
                 "--build", "public", "--output", "o", "--jobs", "3", "--pdf", "--quiet",
                 "--timeout", "60", "--fresh-kernels", "--cache", "c"]) == 1
    assert calls == [("c.yml", "2020/21", {
        "chapters": "4,5", "build": "public", "output": "o", "jobs": 3, "pdf": True,
        "progress": False, "timeout": 60, "fresh_kernels": True, "cache": "c"})]


def test_check_outputs_of_a_missing_folder_exits_2(capsys):
    assert main(["check-outputs", "/no/such/folder"]) == 2
    assert "sna check-outputs:" in capsys.readouterr().err


# ---- init ---------------------------------------------------------------------------------
def test_init_writes_a_working_config(tmp_path, capsys):
    police = tmp_path / "data" / "police"
    shutil.copytree(POLICE, police)
    out = tmp_path / "cfg" / "sna.yml"
    code = main(["init", "--police", str(police), "--boundaries", str(SAMPLE / "boundaries"),
                 "--population", str(SAMPLE / "population" / "population19_lsoa11.csv"),
                 "--imd", str(SAMPLE / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"),
                 "-o", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "data.police.uk street-level crime, 2 file(s), 47 rows" in printed
    assert "182 LSOAs (2011 vintage, column LSOA11CD)" in printed and f"wrote {out}" in printed
    cfg = yaml.safe_load(out.read_text())
    assert cfg["sources"]["police"] == {"format": "police_uk", "path": "../data/police"}
    assert cfg["partnerships"] == {"Nottingham": ["E06000018"]}  # the city's CSP
    # the city's boundaries are 1 of the force area's 8 districts: named after what they cover
    assert cfg["year"] == "2018/19" and cfg["area"] == "Nottingham"
    assert not Path(cfg["geography"]["population"]).is_absolute() or True
    # it works
    (tmp_path / "cfg" / "cache").mkdir()
    assert main(["validate", "--config", str(out), "--json", "--quiet"]) == 0
    q = json.loads(capsys.readouterr().out)
    assert q["sources"]["police"]["rows_kept"] == 34 and q["geography"]["lsoas"] == 182
    assert q["geography"]["partnerships"]["Nottingham"]["population"] == 332900
    # no overwrite without --force
    assert main(["init", "--police", str(police), "-o", str(out), "--quiet"]) == 2
    assert "exists already" in one_paragraph(capsys.readouterr().err)


def test_init_without_boundaries_proposes_the_force_districts(tmp_path, capsys):
    out = tmp_path / "sna.yml"
    code = main(["init", "--police", str(POLICE), "-o", str(out), "--partnerships", "district", "--quiet"])
    assert code == 0
    cfg = yaml.safe_load(out.read_text())
    # Nottinghamshire's districts only: the Amber Valley and Welsh rows are strays
    assert set(cfg["partnerships"]) == {"Nottingham", "Ashfield", "Newark and Sherwood", "Gedling"}
    assert cfg["geography"]["boundaries"] == "boundaries/" and "TODO" in out.read_text()


def test_init_unrecognised_police_data(tmp_path, capsys):
    f = tmp_path / "x.csv"
    f.write_text("a,b\n1,2\n")
    assert main(["init", "--police", str(tmp_path), "-o", str(tmp_path / "o.yml")]) == 2
    assert "no supported police data" in one_paragraph(capsys.readouterr().err)


def test_internal_errors_are_short_unless_debug(monkeypatch, capsys):
    def broken(args):
        raise TypeError("oops")

    monkeypatch.setattr(cli, "_cmd_validate", broken)
    assert main(["validate"]) == 1
    err = capsys.readouterr().err
    assert "internal error (TypeError: oops)" in err and "Traceback" not in err
    assert main(["--debug", "validate"]) == 1
    assert "Traceback" in capsys.readouterr().err


# ---- the assessment year against the data --------------------------------------------------
def test_year_outside_the_data_exits_2_from_validate_and_run(tmp_path, capsys):
    # the sample holds 2018-10..2019-02: 2023/24 has no month in any source
    p = write_config(tmp_path, SAMPLE / "police").read_text().replace("year: 2018/19", "year: 2023/24")
    (tmp_path / "sna.yml").write_text(p)
    cfg = tmp_path / "sna.yml"
    assert main(["validate", "--config", str(cfg), "--quiet"]) == 2
    msg = one_paragraph(capsys.readouterr().err)
    assert "2023/24" in msg and "outside the data" in msg and "2018-10..2019-02" in msg
    assert main(["run", "--config", str(cfg), "--year", "2016/17", "--quiet",
                 "--output", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "2016/17 (--year) is outside the data" in err and "Traceback" not in err
    assert not (tmp_path / "out" / "report.html").exists()


def test_partly_covered_year_runs_and_says_so(tmp_path, capsys):
    cfg = write_config(tmp_path, SAMPLE / "police")
    assert main(["validate", "--config", str(cfg), "--json", "--quiet"]) == 0
    notes = json.loads(capsys.readouterr().out)["notes"]
    assert any("2018/19 is partly covered: 5 of its 12 months" in n for n in notes)


# ---- the README's own-data path ------------------------------------------------------------
README = Path(__file__).resolve().parents[1] / "README.md"


def _readme_own_data_commands() -> list[list[str]]:
    """The first bash block under '## Your own data' in the README, one argv per command."""
    import shlex

    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Your own data"):]
    block = section[section.index("```bash") + len("```bash"):]
    block = block[:block.index("```")]
    cmds = [shlex.split(line, comments=True) for line in block.strip().splitlines()]
    return [c for c in cmds if c]


def _report_text(folder: Path) -> str:
    import re

    html = next(folder.glob("outputs/*/*/report.html")).read_text(encoding="utf-8")
    html = re.sub(r"<(style|script)[^>]*>.*?</\\1>", " ", html, flags=re.S)
    return " ".join(re.sub(r"<[^>]+>", " ", html).replace("&quot;", '"').split())


def test_readme_own_data_commands_run_as_written_on_the_sample(tmp_path, monkeypatch, capsys):
    for sub in ("police", "boundaries", "population", "imd"):
        shutil.copytree(SAMPLE / sub, tmp_path / sub)
    monkeypatch.chdir(tmp_path)
    cmds = _readme_own_data_commands()
    assert [c[:2] for c in cmds] == [["sna", "init"], ["sna", "validate"], ["sna", "run"]]
    for argv in cmds:
        assert main(argv[1:]) == 0, argv
    out = capsys.readouterr().out
    assert "population: found" in out and "deprivation: found" in out
    manifest = json.loads(next(tmp_path.glob("outputs/*/*/manifest.json")).read_text())
    status = {c["name"]: c["status"] for c in manifest["chapters"]}
    assert len(status) == 10 and set(status.values()) == {"ok"}, status
    text = _report_text(tmp_path)
    assert "Nottingham — 2018/19" in text
    assert "The data cover 1 district (Nottingham)" in text and "5 of the 12 months of 2018/19" in text
    assert "not a yearly rate" in text  # five months are not reported as a yearly rate
    assert '"Violence and sexual offences" type holds every violent and sexual offence' in text


def test_own_data_config_without_population_runs_every_chapter(tmp_path, capsys):
    for sub in ("police", "boundaries"):
        shutil.copytree(SAMPLE / sub, tmp_path / sub)
    cfg = tmp_path / "sna.yml"
    assert main(["init", "--police", str(tmp_path / "police"), "--boundaries",
                 str(tmp_path / "boundaries"), "--area", "Nottinghamshire", "-o", str(cfg),
                 "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "population: none given or found" in printed and "rates need a population file" in printed
    written = yaml.safe_load(cfg.read_text())
    assert "population" not in written["geography"] and written["area"] == "Nottinghamshire"
    assert main(["run", "--config", str(cfg), "--quiet"]) == 0
    manifest = json.loads(next(tmp_path.glob("outputs/*/*/manifest.json")).read_text())
    status = {c["name"]: c["status"] for c in manifest["chapters"]}
    assert len(status) == 10 and set(status.values()) == {"ok"}, status
    text = _report_text(tmp_path)
    assert "rates need a population file" in text and "population of 0" not in text
    assert "per 1,000 residents)" not in text
    # a county-named config over city data says what the data cover
    assert "Nottinghamshire — 2018/19" in text
    assert "The data cover 1 district (Nottingham) of Nottinghamshire" in text
