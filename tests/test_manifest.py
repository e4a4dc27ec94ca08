"""The run's ``manifest.json`` (:mod:`sna.report.manifest`)."""

from __future__ import annotations

import json

from sna.config import load_config
from sna.disclosure import source_rule
from sna.report.manifest import write_manifest
from sna.report.results import RunResult


def test_manifest_source_rules_are_the_rules_the_counts_are_published_under(tmp_path):
    """An A&E source configured with the weaker legacy5 rule is still published under
    nhs2018 (:func:`sna.disclosure.source_rule`): the manifest says so, as the tables and the
    output checker apply it; a police source keeps its configured rule."""
    (tmp_path / "b.geojson").write_text("{}")
    (tmp_path / "ae.csv").write_text("x\n")
    (tmp_path / "police.csv").write_text("x\n")
    (tmp_path / "sna.yml").write_text(
        "area: Test\ngeography: {boundaries: b.geojson}\n"
        "sources:\n"
        "  ecds: {format: ecds, path: ae.csv, disclosure: legacy5}\n"
        "  police: {format: police_uk, path: police.csv, disclosure: none}\n")
    cfg = load_config(tmp_path / "sna.yml")
    assert cfg.sources["ecds"].default_disclosure == "legacy5"  # what the config says
    out = tmp_path / "out"
    out.mkdir()
    result = RunResult(output_dir=out, area="Test", year="2020/21", build="public",
                       synthetic=True)
    path = write_manifest(result, cfg, cfg.config_path, {}, 1, None)
    m = json.loads(path.read_text())
    assert m["disclosure"]["source_rules"] == {"ecds": "nhs2018", "police": "none"}
    # the one definition the tables and the output checker use
    assert m["disclosure"]["source_rules"] == {n: source_rule(s) for n, s in cfg.sources.items()}
