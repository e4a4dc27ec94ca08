"""Cleaning: canonical incidents, reasons, placement, vintages, reconciliation, the registry."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from pyproj import Transformer

from sna import clean
from sna.io import FORMATS
from sna.io.police_uk import clean_police_uk
from sna.clean import (
    CATEGORICAL_COLUMNS,
    REASON,
    canonical_incidents,
    concat_incidents,
    finish_source,
    fy_labels,
    get_cleaner,
    month_coverage,
    parse_months,
    place,
    set_aside,
    start,
    to_bng,
)
from sna.config import load_config
from sna.datasets import nottingham_sample_config
from sna.errors import ConfigError, GeographyError
from sna.io.geography import load_geography
from sna.schemas import INCIDENT_COLUMNS, QUARANTINE_COLUMNS

TESTS = Path(__file__).parent
POLICE = TESTS / "data" / "police_uk"
SAMPLE = nottingham_sample_config().parent
OCT = POLICE / "2018-10" / "2018-10-nottinghamshire-street.csv"
JAN = POLICE / "2019-01" / "2019-01-nottinghamshire-street.csv"


def write_config(tmp_path: Path, police=POLICE, boundaries=SAMPLE / "boundaries", extra: str = "") -> Path:
    p = tmp_path / "sna.yml"
    p.write_text(
        "area: Test\nyear: 2018/19\npartnerships:\n  Nottingham City: [E06000018]\n"
        f"geography:\n  boundaries: {boundaries}\n{extra}"
        f"sources:\n  police:\n    format: police_uk\n    path: {police}\n"
        f"cache: {tmp_path / 'cache'}\n"
    )
    return p


@pytest.fixture(scope="module")
def city_geo():
    geo, _ = load_geography(load_config(nottingham_sample_config()))
    return geo


def run(cfg_path: Path, geo=None):
    cfg = load_config(cfg_path)
    if geo is None:
        geo, _ = load_geography(cfg)
    return clean_police_uk("police", cfg.sources["police"], cfg, geo)


@pytest.fixture(scope="module")
def result(tmp_path_factory, city_geo):
    return run(write_config(tmp_path_factory.mktemp("c")), city_geo)


# ---- the real test rows -------------------------------------------------------------------
def test_reconciles_and_sets_aside_with_reasons(result):
    q = result.quality
    assert (q.rows_read, q.rows_kept) == (47, 34)
    assert q.set_aside == {"out_of_area": 8, "no_location": 5}
    assert q.rows_read == q.rows_kept + q.rows_set_aside
    assert q.months == ["2018-10", "2019-01"] and q.missing_months == ["2018-11", "2018-12"]
    assert q.share_geocoded == 1.0 and q.duplicate_rows == 5
    assert len(q.files) == 2


def test_quarantine_names_file_line_reason(result):
    qa = result.quarantine
    assert list(qa.columns) == list(QUARANTINE_COLUMNS)
    oct_ = qa[qa.file == str(OCT)].sort_values("line")
    assert oct_[["line", "reason"]].values.tolist() == [
        [2, "out_of_area"], [3, "out_of_area"], [4, "out_of_area"], [5, "out_of_area"],
        [6, "out_of_area"], [36, "out_of_area"], [37, "no_location"], [38, "no_location"],
        [39, "no_location"], [40, "no_location"]]
    welsh = oct_[oct_.line == 36].iloc[0]
    assert welsh.detail == "LSOA W01000818"
    rec = json.loads(welsh.record)
    assert rec["LSOA code"] == "W01000818" and rec["Crime type"] == "Violence and sexual offences"
    jan = qa[qa.file == str(JAN)].sort_values("line")
    # the byte-identical Possession of weapons pair (Gedling): both set aside, neither lost
    assert jan[["line", "reason"]].values.tolist() == [[2, "out_of_area"], [3, "out_of_area"], [9, "no_location"]]
    assert (qa.source == "police").all()


def test_incidents_are_canonical(result):
    inc = result.incidents
    assert list(inc.columns) == list(INCIDENT_COLUMNS)
    for col in CATEGORICAL_COLUMNS:
        assert isinstance(inc[col].dtype, pd.CategoricalDtype), col
    assert inc["month"].dtype == "datetime64[ns]" and inc["x"].dtype == "float64"
    assert set(inc.source) == {"police"} and set(inc.source_format) == {"police_uk"}
    assert set(inc.date_precision) == {"month"} and (inc.date == inc.month).all()
    assert set(inc.fy) == {"2018/19"}
    assert set(inc.district) == {"E06000018"} and set(inc.partnership) == {"Nottingham City"}
    assert inc.knife.isna().all() and inc.domestic.isna().all() and inc.age.isna().all()
    assert inc["category"].astype(str).equals(inc["crime_type"].astype(str))
    sv = inc.groupby("category", observed=True)["serious_violence"].first().to_dict()
    assert sv["Violence and sexual offences"] and sv["Robbery"] and sv["Possession of weapons"]
    assert not sv["Public order"] and not sv["Anti-social behaviour"]


def test_duplicates_and_repeated_ids_are_kept(result):
    inc = result.incidents
    howden = inc[(inc.file == str(OCT)) & inc.line.isin([22, 24, 26])]
    assert len(howden) == 3 and howden[["x", "y", "lsoa"]].nunique().max() == 1
    rep = inc[inc.record_id.str.startswith("10354993", na=False)]
    assert rep.lsoa.astype(str).tolist() == ["E01013830", "E01013825"]
    asb = inc[inc.category == "Anti-social behaviour"]
    assert asb.record_id.isna().all() and inc.loc[inc.category != "Anti-social behaviour", "record_id"].notna().all()


def test_coordinates_are_bng(result):
    inc = result.incidents
    row = inc[(inc.file == str(OCT)) & (inc.line == 7)].iloc[0]
    raw = pd.read_csv(OCT).iloc[5]
    ex, ny = Transformer.from_crs(4326, 27700, always_xy=True).transform(raw.Longitude, raw.Latitude)
    assert np.isclose(row.x, ex) and np.isclose(row.y, ny)


def test_sample_reconciles():
    cfg = load_config(nottingham_sample_config())
    geo, _ = load_geography(cfg)
    res = clean_police_uk("police", cfg.sources["police"], cfg, geo)
    q = res.quality
    assert q.rows_read == 24988 and q.rows_kept == 24123
    assert q.set_aside == {"no_location": 616, "out_of_area": 249}
    assert q.months == ["2018-10", "2018-11", "2018-12", "2019-01", "2019-02"] and not q.missing_months
    by_month = res.incidents.groupby("month").size().tolist()
    assert sum(by_month) == 24123 and len(res.quarantine) == 865
    # every kept row is in one of the city's 182 LSOAs
    assert set(res.incidents.lsoa.astype(str)) <= set(geo.lsoa)


# ---- bad months, unknown crime types, the definition --------------------------------------
def test_bad_month_and_unknown_category(tmp_path, city_geo):
    d = tmp_path / "police"
    d.mkdir()
    lines = OCT.read_bytes().split(b"\n")
    lines[10] = lines[10].replace(b",2018-10,", b",2018-13,", 1)  # line 11
    lines[11] = lines[11].replace(b"Violence and sexual offences", b"Knife crime")  # line 12
    lines[12] = lines[12].replace(b",2018-10,", b",October,", 1).replace(b"Vehicle crime", b"Knife crime")
    (d / "2018-10-nottinghamshire-street.csv").write_bytes(b"\n".join(lines))
    res = run(write_config(tmp_path, police=d), city_geo)
    qa = res.quarantine.set_index("line")
    assert qa.loc[11, "reason"] == "bad_month" and qa.loc[11, "detail"] == "Month 2018-13"
    assert qa.loc[12, "reason"] == "unknown_category" and qa.loc[12, "detail"] == "Crime type Knife crime"
    assert qa.loc[13, "reason"] == "bad_month"  # the first reason wins
    assert res.quality.set_aside == {"bad_month": 2, "unknown_category": 1, "no_location": 4, "out_of_area": 6}
    assert res.quality.rows_read == 39


def test_local_definition_from_config(tmp_path, city_geo):
    extra = "definition:\n  police_uk_serious_violence: [Robbery]\n"
    p = write_config(tmp_path)
    p.write_text(p.read_text() + extra)
    inc = run(p, city_geo).incidents
    assert set(inc.loc[inc.serious_violence, "category"]) == {"Robbery"}


# ---- placing ------------------------------------------------------------------------------
def test_zeroed_and_absent_coordinates_are_unknown():
    ex, ny = to_bng([-1.17, 0, np.nan, 0, -1.17], [52.95, 0, 52.95, 52.95, 0])
    assert not np.isnan(ex[0]) and np.isnan(ex[1:]).all() and np.isnan(ny[1:]).all()
    bx, by = to_bng([457000, 0], [340000, 0], crs=27700)
    assert bx.tolist()[0] == 457000 and np.isnan(bx[1])


def test_point_in_polygon_for_rows_without_lsoa(city_geo):
    target = city_geo[city_geo.lsoa == "E01013810"].iloc[0]
    pt = target.geometry.representative_point()
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(pt.x, pt.y)
    w = start(pd.DataFrame({
        "code": [None, None, None, "E01013887", None],
        "lon": [lon, -1.35, 0.0, -1.17, None],
        "lat": [lat, 53.06, 0.0, 52.99, None],
        "file": "f.csv", "line": [2, 3, 4, 5, 6],
    }))
    out = place(w, city_geo, lsoa="code", lon="lon", lat="lat")
    assert out["lsoa"].astype(object).where(out["lsoa"].notna(), None).tolist() == [
        "E01013810", None, None, "E01013887", None]
    assert out[REASON].astype(object).where(out[REASON].notna(), None).tolist() == [
        None, "out_of_area", "no_location", None, "no_location"]
    assert out.loc[0, "partnership"] == "Nottingham City" and out.loc[0, "district"] == "E06000018"
    assert np.isclose(out.loc[0, "x"], pt.x) and np.isnan(out.loc[2, "x"])
    kept = place(w, city_geo, lsoa="code", lon="lon", lat="lat", keep_unlocated=True)
    assert kept[REASON].astype(object).where(kept[REASON].notna(), None).tolist() == [
        None, "out_of_area", None, None, None]
    assert w.columns.tolist() == ["code", "lon", "lat", "file", "line", "_reason", "_detail"]  # not mutated


def test_mixed_vintages_error_then_harmonised(tmp_path, city_geo):
    # a 2021 code (E01035505 = 2011's E01013924 + E01013926 merged) on 2011 boundaries
    pt = city_geo[city_geo.lsoa == "E01013926"].geometry.iloc[0].representative_point()
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(pt.x, pt.y)
    d = tmp_path / "police"
    d.mkdir()
    lines = OCT.read_bytes().split(b"\n")
    # line 7: coded E01035505 with a point in E01013926; line 8: coded E01035505, no point
    lines[6] = (lines[6].replace(b"E01013887", b"E01035505").replace(b"-1.174293", f"{lon:.6f}".encode())
                .replace(b"53.012363", f"{lat:.6f}".encode()))
    lines[7] = lines[7].replace(b"E01013887", b"E01035505").replace(b"-1.172491", b"").replace(b"53.009977", b"")
    (d / "2018-10-nottinghamshire-street.csv").write_bytes(b"\n".join(lines))
    with pytest.raises(GeographyError) as e:
        run(write_config(tmp_path, police=d), city_geo)
    msg = str(e.value)
    assert "mixed LSOA vintages" in msg and "E01035505" in msg and "lsoa_best_fit" in msg
    assert str(d / "2018-10-nottinghamshire-street.csv") in msg
    res = run(write_config(tmp_path, police=d, extra="  lsoa_best_fit: bundled\n"), city_geo)
    inc = res.incidents.set_index("line")
    assert inc.loc[7, "lsoa"] == "E01013926"  # settled by its point among the candidates
    assert inc.loc[8, "lsoa"] == "E01013924"  # no point: the first best-fit 2011 LSOA
    assert np.isnan(inc.loc[8, "x"])
    assert res.quality.rows_kept == 29


def test_2011_records_on_2021_boundaries(tmp_path):
    from sna.io.geography import read_best_fit_lookup

    # 2021 boundaries of the city's unchanged LSOAs plus E01035505 (= 2011's E01013924 + E01013926)
    bf = read_best_fit_lookup()
    unchanged = set(bf.loc[bf.change_code == "U", "lsoa11"])
    b11 = gpd.read_file(SAMPLE / "boundaries" / "E06000018.json")
    b11 = b11[b11.LSOA11CD.isin(unchanged | {"E01013924", "E01013926"})]
    b11.to_file(tmp_path / "lsoa11.geojson", driver="GeoJSON")
    b21 = b11.rename(columns={"LSOA11CD": "LSOA21CD", "LSOA11NM": "LSOA21NM"})
    pair = b21.LSOA21CD.isin(["E01013924", "E01013926"])
    merged = b21[pair].dissolve()
    merged["LSOA21CD"] = "E01035505"
    b21 = gpd.GeoDataFrame(pd.concat([b21[~pair], merged], ignore_index=True), crs=b11.crs)
    b21.to_file(tmp_path / "lsoa21.geojson", driver="GeoJSON")
    d = tmp_path / "police"
    d.mkdir()
    src = SAMPLE / "police" / "2018-10" / "2018-10-nottinghamshire-street.csv"
    shutil.copy(src, d / src.name)
    with pytest.raises(GeographyError, match="boundaries use 2021 LSOAs"):
        run(write_config(tmp_path, police=d, boundaries=tmp_path / "lsoa21.geojson"))
    res = run(write_config(tmp_path, police=d, boundaries=tmp_path / "lsoa21.geojson",
                           extra="  lsoa_best_fit: bundled\n"))
    ref = run(write_config(tmp_path, police=d, boundaries=tmp_path / "lsoa11.geojson"))
    assert res.quality.rows_read == ref.quality.rows_read == 5293
    assert res.quality.set_aside == ref.quality.set_aside
    n_pair = ref.incidents.lsoa.isin(["E01013924", "E01013926"]).sum()
    assert n_pair > 0 and (res.incidents.lsoa == "E01035505").sum() == n_pair


# ---- the pieces ---------------------------------------------------------------------------
def test_set_aside_first_reason_wins_and_new_reasons():
    w = start(pd.DataFrame({"a": [1, 2, 3]}))
    w = set_aside(w, [True, False, False], "bad_month", "m")
    w = set_aside(w, [True, True, False], "no_location", pd.Series(["x", "y", "z"]))
    assert w[REASON].astype(object).where(w[REASON].notna(), None).tolist() == ["bad_month", "no_location", None]
    assert w["_detail"].tolist()[:2] == ["m", "y"]
    w = set_aside(w, [False, False, True], "my_new_reason")
    assert "my_new_reason" in clean.REASONS
    del clean.REASONS["my_new_reason"]


@pytest.mark.parametrize("month, fy", [("2019-03", "2018/19"), ("2019-04", "2019/20"),
                                       ("2020-02", "2019/20"), ("2000-01", "1999/00")])
def test_months_and_financial_years(month, fy):
    m = parse_months(pd.Series([month, "junk"]))
    assert m.isna().tolist() == [False, True]
    assert fy_labels(m).iloc[0] == fy


def test_month_coverage_gaps():
    assert month_coverage(pd.Series(pd.to_datetime(["2019-11-01", "2020-02-01", None]))) == (
        ["2019-11", "2020-02"], ["2019-12", "2020-01"])
    assert month_coverage(pd.Series([], dtype="datetime64[ns]")) == ([], [])


def test_finish_source_never_loses_rows():
    w = start(pd.DataFrame({"month": pd.to_datetime(["2019-01-01"] * 4), "category": ["A"] * 4,
                            "file": "f", "line": [2, 3, 4, 5], "raw": list("abcd")}))
    w = set_aside(w, [False, True, True, False], "out_of_area")
    res = finish_source("s", "ambulance", w, duplicate_rows=0)
    assert res.quality.rows_read == 4 and res.quality.rows_kept == 2
    assert res.quarantine.line.tolist() == [3, 4] and len(res.incidents) == 2
    inc, qa, q = res  # unpacks
    assert q is res.quality
    assert q.share_geocoded == 0.0  # no coordinates at all


def test_canonical_and_concat_keep_categoricals():
    a = canonical_incidents(pd.DataFrame({"category": ["Robbery"], "lsoa": ["E01013810"], "age": [17]}),
                            source="police", source_format="police_extract")
    b = canonical_incidents(pd.DataFrame({"category": ["Assault"], "knife": [True]}), source="ambulance")
    both = concat_incidents([a, b])
    assert list(both.columns) == list(INCIDENT_COLUMNS)
    assert both.category.tolist() == ["Robbery", "Assault"]
    assert isinstance(both.category.dtype, pd.CategoricalDtype)
    assert both.age.tolist()[0] == 17 and pd.isna(both.age.tolist()[1])
    assert both.knife.tolist()[1] is True and pd.isna(both.knife.tolist()[0])
    assert len(concat_incidents([])) == 0


def test_concat_unites_categories_each_table_recoded_through_its_own():
    # what pandas' union_categoricals gives, sorted: tables with the same categories (in any
    # order), others, unused categories, missing values and a non-categorical column
    from pandas.api.types import union_categoricals

    lsoas = pd.Index(["E01000003", "E01000001", "E01000002"])
    shared = pd.CategoricalDtype(lsoas)
    frames = [
        pd.DataFrame({"lsoa": pd.Categorical(["E01000001", None, "E01000003"], dtype=shared),
                      "n": [1, 2, 3]}),
        pd.DataFrame({"lsoa": pd.Categorical(["E01000002"], dtype=shared), "n": [4]}),
        pd.DataFrame({"lsoa": pd.Categorical(["W01000009", "E01000001"],
                                             categories=["W01000009", "E01000001", "X"]),
                      "n": [5, 6]}),
        pd.DataFrame({"lsoa": pd.Categorical([None, None], categories=lsoas[::-1]), "n": [7, 8]}),
        pd.DataFrame({"lsoa": pd.Categorical([], categories=["E01000004"]), "n": []}),
    ]
    want = union_categoricals([f["lsoa"] for f in frames], sort_categories=True)
    both = concat_incidents(frames)
    assert both["lsoa"].cat.categories.tolist() == list(want.categories)
    assert both["lsoa"].cat.categories.tolist() == [
        "E01000001", "E01000002", "E01000003", "E01000004", "W01000009", "X"]
    assert both["lsoa"].astype(object).tolist() == list(want.astype(object))
    assert both["n"].tolist() == [1, 2, 3, 4, 5, 6, 7, 8]
    assert list(both.index) == list(range(8))
    # categories that are not strings are united as strings
    ints = concat_incidents([pd.DataFrame({"k": pd.Categorical([2, 10])}),
                             pd.DataFrame({"k": pd.Categorical(["3"])})])
    assert ints["k"].cat.categories.tolist() == ["10", "2", "3"]
    assert ints["k"].astype(object).tolist() == ["2", "10", "3"]
    # more categories than 16-bit codes hold, and many tables each with categories of its own
    big = [pd.DataFrame({"k": pd.Categorical([f"{p}{i:05d}" for i in range(20_000)][::-1])})
           for p in "ba"]
    months = [pd.DataFrame({"k": pd.Categorical([f"2020-{m:02d}", None])}) for m in range(12, 0, -1)]
    many = concat_incidents(big + months)
    want = union_categoricals([f["k"] for f in big + months], sort_categories=True)
    assert len(many["k"].cat.categories) == 40_012
    assert many["k"].cat.categories.tolist() == list(want.categories)
    assert many["k"].astype(object).tolist() == list(want.astype(object))


def test_registry(monkeypatch):
    assert get_cleaner("police_uk") is clean_police_uk
    monkeypatch.setitem(FORMATS, "ambulance", dataclasses.replace(FORMATS["ambulance"], module="sna.io._no_such_module"))
    monkeypatch.delitem(clean.SOURCE_CLEANERS, "ambulance", raising=False)
    with pytest.raises(ConfigError, match="'ambulance' is not supported yet"):
        get_cleaner("ambulance")
    sentinel = lambda *a, **k: None  # noqa: E731
    monkeypatch.setitem(clean.SOURCE_CLEANERS, "ambulance", sentinel)
    assert get_cleaner("ambulance") is sentinel


def test_incidents_satisfy_the_pandera_contract(result):
    from sna.schemas import incidents_schema

    incidents_schema().validate(result.incidents, lazy=True)
    bad = result.incidents.assign(category=pd.Series([1.5] * len(result.incidents)))
    with pytest.raises(Exception, match="category"):
        incidents_schema().validate(bad, lazy=True)


# ---- each force-month read once; a Month that is not its file's ---------------------------
def test_month_as_folder_and_inside_the_zip_is_refused_naming_both(tmp_path, city_geo):
    import zipfile

    d = tmp_path / "police"
    shutil.copytree(POLICE, d)
    with zipfile.ZipFile(d / "download.zip", "w") as zf:
        zf.write(OCT, "2018-10/2018-10-nottinghamshire-street.csv")
    with pytest.raises(Exception) as e:
        run(write_config(tmp_path, police=d), city_geo)
    msg = str(e.value)
    assert type(e.value).__name__ == "InputFormatError"
    assert str(d / "2018-10" / "2018-10-nottinghamshire-street.csv") in msg
    assert f"{d / 'download.zip'}!2018-10/2018-10-nottinghamshire-street.csv" in msg
    assert "counted twice" in msg and "repeated_months: ignore_later" in msg
    # with the switch: the later file is left out and the QualityLog says so
    p = write_config(tmp_path, police=d)
    p.write_text(p.read_text().replace("    path:", "    repeated_months: ignore_later\n    path:"))
    res = run(p, city_geo)
    assert res.quality.rows_read == 47  # 39 + 8, not 39 + 8 + 39
    assert any("download.zip!2018-10/2018-10-nottinghamshire-street.csv ignored" in n
               for n in res.quality.notes)


def test_a_copy_in_another_folder_is_refused(tmp_path):
    from sna.errors import InputFormatError
    from sna.io.police_uk import read_police_uk

    d = tmp_path / "police"
    shutil.copytree(POLICE, d)
    (d / "downloads").mkdir()
    shutil.copy(JAN, d / "downloads" / "2019-01-nottinghamshire-street (1).csv")
    with pytest.raises(InputFormatError, match=r"2019-01 street file of nottinghamshire is read twice"):
        read_police_uk(d)


def test_month_mismatch_is_set_aside(tmp_path, city_geo):
    d = tmp_path / "police"
    d.mkdir()
    lines = OCT.read_bytes().split(b"\n")
    # line 2 is kept in the area today; relabelled as November it would be a second November
    lines[1] = lines[1].replace(b",2018-10,", b",2018-11,", 1)
    (d / "2018-10-nottinghamshire-street.csv").write_bytes(b"\n".join(lines))
    res = run(write_config(tmp_path, police=d), city_geo)
    qa = res.quarantine.set_index("line")
    assert qa.loc[2, "reason"] == "month_mismatch"
    assert qa.loc[2, "detail"] == "Month 2018-11 in the file of 2018-10"
    assert res.quality.set_aside["month_mismatch"] == 1
    assert res.quality.rows_read == 39 == res.quality.rows_kept + sum(res.quality.set_aside.values())
    assert (res.incidents["month"] == pd.Timestamp("2018-10-01")).all()
    assert "month_mismatch" in clean.REASONS


def test_lsoa_codes_in_lower_case_or_with_spaces_are_normalised(tmp_path, city_geo):
    d = tmp_path / "police"
    d.mkdir()
    base = run(write_config(tmp_path, police=OCT), city_geo)
    text = OCT.read_text()
    text = text.replace(",E01", ", e01")  # every code: lower case, a space before
    (d / "2018-10-nottinghamshire-street.csv").write_text(text)
    res = run(write_config(tmp_path, police=d), city_geo)
    assert res.quality.set_aside == base.quality.set_aside
    assert res.quality.rows_kept == base.quality.rows_kept
    assert res.incidents["lsoa"].astype(str).tolist() == base.incidents["lsoa"].astype(str).tolist()


def test_as_text_equals_astype_string():
    """Categoricals of text converted a category at a time: the same values, missing values
    and dtype as ``astype("string")``; other columns go through astype itself."""
    from sna.clean import as_text

    cases = [
        pd.Series(pd.Categorical(["b", None, "a", "b"], categories=["a", "b", "c"]), index=[5, 3, 9, 1], name="f"),
        pd.Series(pd.Categorical([None, None])),
        pd.Series(pd.Categorical([], categories=["x"])),
        pd.Series(pd.Categorical([1, 2, None])),  # not text: astype
        pd.Series(["a", None, "c"], dtype=object),
        pd.Series(pd.Categorical(["x"], categories=pd.Index(["x", "y"], dtype="str"))),
    ]
    for s in cases:
        got, want = as_text(s), s.astype("string")
        pd.testing.assert_series_equal(got, want, check_exact=True)


def test_a_source_with_no_kept_row_has_every_column(tmp_path, city_geo):
    """Every row out of the area or unlocated: an empty incidents table with every canonical
    column (built beside the rest's thread), its rows in the quarantine."""
    from sna.schemas import INCIDENT_COLUMNS

    d = tmp_path / "police"
    d.mkdir()
    (d / "2019-01-test-street.csv").write_text(
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
        "Crime type,Last outcome category,Context\n"
        "a1,2019-01,F,F,,,No location,W01000001,Elsewhere 001A,Robbery,,\n"
        "a2,2019-01,F,F,,,No location,,,Robbery,,\n")
    res = run(write_config(tmp_path, police=d), city_geo)
    assert len(res.incidents) == 0 and list(res.incidents.columns) == list(INCIDENT_COLUMNS)
    assert sorted(res.quality.set_aside.items()) == [("no_location", 1), ("out_of_area", 1)]
    assert len(res.quarantine) == 2
