"""2021 LSOAs end to end: deprivation indices (IMD 2019, IoD 2025, WIMD 2019), best-fit
apportionment of populations and counts, wards and MSOAs, population by mid-year, and the demo
on 2021 LSOAs losing no LSOA's population or decile."""

from __future__ import annotations

import gzip

import numpy as np
import pandas as pd
import pytest

import sna
from sna.config import load_config
from sna.datasets import DATASETS_DIR, demo_config, nottingham_sample_config
from sna.errors import InputFormatError
from sna.io.geography import (
    apportion,
    best_fit_weights,
    convert_deprivation,
    harmonise_lsoa_codes,
    load_geography,
    population_for_year,
    population_years,
    read_deprivation,
    read_levels_lookup,
)

DEMO = demo_config().parent
DEMO21 = DEMO / "sna-lsoa21.yml"
IMD19 = DEMO / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv.gz"
IOD25 = DEMO / "imd" / "File_1_-_IoD2025_Index_of_Multiple_Deprivation.csv.gz"
NOTTS = {"E06000018", "E07000170", "E07000171", "E07000172", "E07000173", "E07000174", "E07000175",
         "E07000176"}


# ---- deprivation indices ------------------------------------------------------------------
def test_three_indices_read_as_published():
    imd = read_deprivation(IMD19)
    iod = read_deprivation(IOD25)
    wimd = read_deprivation("bundled-wimd2019")
    assert [d.attrs["sna"]["deprivation_index"] for d in (imd, iod, wimd)] == ["imd2019", "iod2025", "wimd2019"]
    assert [d.attrs["sna"]["lsoa_vintage"] for d in (imd, iod, wimd)] == [2011, 2021, 2011]
    assert (len(imd), len(iod), len(wimd)) == (679, 684, 1909)
    # IoD 2025: Nottingham 018A is in the most deprived decile in both indices, with its own rank
    assert iod.set_index("lsoa").loc["E01013810", "imd_decile"] == 1
    assert imd.set_index("lsoa").loc["E01013810", "imd_rank"] == 1767
    # WIMD publishes ranks only: deciles are 1..10 of the 1,909 Welsh LSOAs, 190 or 191 each
    assert wimd.imd_decile.value_counts().sort_index().tolist() == [191, 191, 191, 191, 191, 191, 191, 191,
                                                                      191, 190]
    assert wimd.set_index("lsoa").loc[wimd.set_index("lsoa").imd_rank.idxmin(), "imd_decile"] == 1


def test_deprivation_index_named_or_refused(tmp_path):
    f = tmp_path / "wimd.csv"
    f.write_text("LSOA code,LSOA name (Eng),WIMD 2019\nW01000001,Isle of Anglesey 007A,885\n")
    d = read_deprivation(f)
    assert d.attrs["sna"]["deprivation_label"] == "WIMD 2019" and d.imd_decile.tolist() == [5]
    g = tmp_path / "renamed.csv"
    g.write_text("lsoa21cd,overall rank\nE01013810,2000\n")
    assert read_deprivation(g, index="iod2025").imd_decile.tolist() == [1]
    with pytest.raises(InputFormatError, match="geography.deprivation_index"):
        read_deprivation(g)


# ---- best fit -----------------------------------------------------------------------------
def test_weights_share_every_lsoa_once():
    w = best_fit_weights()
    assert np.allclose(w.groupby("lsoa11").w11_21.sum(), 1) and np.allclose(w.groupby("lsoa21").w21_11.sum(), 1)
    split = w[w.lsoa11 == "E01027931"]  # Ashfield 013B, split in three in 2021
    assert sorted(split.lsoa21) == ["E01033778", "E01033779", "E01033781"]
    assert np.allclose(split.w11_21, split.pop21 / split.pop21.sum())


def test_apportion_keeps_totals_and_keys():
    pop = pd.read_csv(DEMO / "population" / "population20_lsoa11.csv.gz", usecols=["lsoa11_code", "0", "90+"])
    long = pop.melt(id_vars="lsoa11_code", var_name="age", value_name="population").rename(
        columns={"lsoa11_code": "lsoa"})
    out = apportion(long, "population", from_vintage=2011, to_vintage=2021)
    assert out.population.sum() == pytest.approx(long.population.sum(), abs=1e-6)
    assert out.groupby("age").population.sum().to_dict() == pytest.approx(
        long.groupby("age").population.sum().to_dict())
    assert out.lsoa.nunique() == 684 and out.attrs["sna"]["apportion"]["lsoas_split"] == 9
    merged = long[long.lsoa.isin(["E01013974", "E01013975"])].groupby("age").population.sum()
    assert out[out.lsoa == "E01035507"].set_index("age").population.to_dict() == pytest.approx(merged.to_dict())
    back = apportion(out, "population", from_vintage=2021, to_vintage=2011)
    assert back.population.sum() == pytest.approx(long.population.sum(), abs=1e-6)
    assert back.lsoa.nunique() == 679
    # unknown codes are kept as they are
    odd = apportion(pd.DataFrame({"lsoa": ["X1"], "n": [3.0]}), "n", from_vintage=2011, to_vintage=2021)
    assert odd.values.tolist() == [["X1", 3.0]]


def test_deprivation_on_the_other_vintage_loses_no_lsoa():
    imd = read_deprivation(IMD19)
    on21 = convert_deprivation(imd, 2021)
    lsoa21 = set(read_levels_lookup(2021).query("district24 in @NOTTS").lsoa)
    assert set(on21.lsoa) == lsoa21 and on21.imd_decile.notna().all()
    d11 = imd.set_index("lsoa").imd_decile
    d21 = on21.set_index("lsoa").imd_decile
    # a split keeps its parent's decile; a merge takes its most populous part's
    assert d21["E01035501"] == d21["E01035502"] == d11["E01033404"]
    w = best_fit_weights().query("lsoa21 == 'E01035507'")
    assert d21["E01035507"] == d11[w.loc[w.pop11.idxmax(), "lsoa11"]]
    iod = read_deprivation(IOD25)
    on11 = convert_deprivation(iod, 2011)
    assert len(on11) == 679 and on11.imd_decile.notna().all()
    assert "most of its residents" in on11.attrs["sna"]["method"]


def test_records_of_a_split_lsoa_go_to_the_part_with_most_residents():
    # Ashfield 013B (2011) split into three 2021 LSOAs: without coordinates, the most populous
    w = best_fit_weights().query("lsoa11 == 'E01027931'")
    best = w.loc[w.pop21.idxmax(), "lsoa21"]
    assert harmonise_lsoa_codes(["E01027931"], 2021, list(w.lsoa21)) == {"E01027931": best}


# ---- wards and MSOAs ----------------------------------------------------------------------
def test_wards_and_msoas_with_names():
    l21 = read_levels_lookup(2021)
    l11 = read_levels_lookup(2011)
    assert l21.lsoa.is_unique and l11.lsoa.is_unique and not l21.isna().any().any() and not l11.isna().any().any()
    n21 = l21[l21.district24.isin(NOTTS)]
    assert len(n21) == 684 and n21.msoa.nunique() == n21.lsoa.map(l21.set_index("lsoa").msoa_name).nunique() == 137
    assert n21.ward.nunique() == 187
    city = n21[n21.district24 == "E06000018"]
    assert city.ward_name.nunique() == 20 and "Hyson Green & Arboretum" in set(city.ward_name)
    # every LSOA of an MSOA is named after it: "Nottingham 018A" is in MSOA "Nottingham 018"
    geo, _ = load_geography(load_config(nottingham_sample_config()))
    assert (geo.name.str[:-1] == geo.msoa_name).all()
    assert geo.groupby("ward").population.sum().sum() == geo.population.sum()


# ---- population by year -------------------------------------------------------------------
def pops():
    return pd.DataFrame({"year": [2017, 2019, 2020], "lsoa": ["a"] * 3, "age": [0] * 3,
                         "population": [1.0, 2.0, 3.0]}).astype({"year": "Int64"})


@pytest.mark.parametrize("fy, used, note", [
    ("2020/21", 2020, None),
    ("2019/20", 2019, None),
    ("2018/19", 2019, "mid-2019 population used for 2018/19 (mid-2018 not available; nearest year)"),
    ("2016/17", 2017, "mid-2017 population used for 2016/17 (mid-2016 not available; nearest year)"),
    ("2023/24", 2020, "mid-2020 population used for 2023/24 (mid-2023 not available; nearest year)"),
    (2019, 2019, None),
])
def test_population_for_year(fy, used, note):
    p = population_for_year(pops(), fy)
    assert p.attrs["sna"]["population_year"] == used and p.attrs["sna"]["population_note"] == note
    assert p.columns.tolist() == ["lsoa", "age", "population"] and len(p) == 1


def test_one_population_file_serves_every_year_and_says_so():
    one = pops().iloc[[1]]
    assert population_for_year(one, "2020/21").attrs["sna"]["population_note"] == (
        "mid-2019 population used for 2020/21 (mid-2020 the only estimate given)")
    unknown = one.assign(year=pd.NA)
    meta = population_for_year(unknown, "2020/21").attrs["sna"]
    assert meta["population_year"] is None and "year not stated" in meta["population_note"]
    assert population_years(pops(), ["2017/18", "2018/19"]).population_year.tolist() == [2017, 2019]


def test_assessment_population_by_year(tmp_path):
    cfg = load_config(demo_config()).model_copy(update={"cache": str(tmp_path)})
    geo, _, populations = load_geography(cfg, with_years=True)
    assert sorted(populations.year.unique()) == [2017, 2019, 2020]
    totals = populations.groupby("year").population.sum()
    assert totals.to_dict() == {2017: 1147060.0, 2019: 1161124.0, 2020: 1170475.0}
    # the geography's population is the estimate of the assessment year (2020/21 -> mid-2020)
    assert geo.population.sum() == 1170475 and geo.attrs["sna"]["population_year"] == 2020


# ---- the demo on 2021 LSOAs ---------------------------------------------------------------
@pytest.fixture(scope="module")
def demo21(tmp_path_factory):
    cfg = load_config(DEMO21).model_copy(update={"cache": str(tmp_path_factory.mktemp("cache21"))})
    return sna.load_assessment(cfg)


def test_demo_on_2021_lsoas_loses_no_lsoa(demo21):
    geo = demo21.geography
    lsoa21 = set(read_levels_lookup(2021).query("district24 in @NOTTS").lsoa)
    assert len(geo) == 684 and set(geo.lsoa) == lsoa21
    assert geo.population.notna().all() and (geo.population > 0).all()
    assert geo.imd_decile.notna().all() and set(geo.deprivation_index) == {"IoD 2025"}
    assert geo.ward.notna().all() and geo.msoa.notna().all()
    # the same people as on 2011 LSOAs, year by year
    for fy, total in {"2020/21": 1170475, "2018/19": 1161124, "2017/18": 1147060}.items():
        assert demo21.population_for(fy).population.sum() == pytest.approx(total)
    assert demo21.population_years().set_index("fy").population_year.to_dict() == {
        "2017/18": 2017, "2018/19": 2019, "2019/20": 2019, "2020/21": 2020}
    methods = {m["method"] for m in geo.attrs["sna"]["methods"]}
    assert {"Population on 2021 LSOAs", "Population", "Deprivation", "Wards and neighbourhoods"} <= methods


def test_demo_records_on_2011_codes_are_kept_on_2021_lsoas(demo21, tmp_path):
    cfg11 = load_config(demo_config()).model_copy(update={"cache": str(tmp_path)})
    demo11 = sna.load_assessment(cfg11)
    for src in ("police", "ambulance", "ecds"):
        q11, q21 = demo11.quality.sources[src], demo21.quality.sources[src]
        assert q21.rows_read == q11.rows_read
        # records are placed by their point on 2021 LSOAs: a handful near the generalised
        # boundaries may fall either side, none is lost
        assert q21.rows_read == q21.rows_kept + sum(q21.set_aside.values())
        assert abs(q21.rows_kept - q11.rows_kept) <= 0.002 * q11.rows_read
    inc = demo21.incidents
    placed = inc[inc.source == "police"].lsoa.dropna()
    assert set(placed.astype(str)) <= set(demo21.geography.lsoa)
    # the new 2021 LSOAs (merges and splits) hold records
    assert {"E01035507", "E01035501", "E01035502"} <= set(placed.astype(str))


# ---- levels -------------------------------------------------------------------------------
@pytest.mark.parametrize("level, units", [("lsoa", 684), ("msoa", 137), ("ward", 187), ("district", 8),
                                          ("partnership", 2)])
def test_every_level_covers_the_area_once(demo21, level, units):
    from sna.io.geography import LEVELS, areas, count_by

    geo = demo21.geography
    a = areas(geo, level)
    code, name = LEVELS[level]
    assert len(a) == units and a[code].is_unique and a[name].notna().all()
    assert int(a.lsoas.sum()) == 684 and a.population.sum() == pytest.approx(geo.population.sum())
    assert a.crs == geo.crs and a.geometry.area.sum() == pytest.approx(geo.geometry.area.sum(), rel=0.01)
    sv = demo21.in_year()
    sv = sv[(sv.source == "police") & sv.serious_violence.fillna(False).astype(bool)]
    n = count_by(sv, geo, level)
    assert len(n) == units and n.n.sum() == sv.lsoa.notna().sum()


def test_ward_counts_are_the_sum_of_their_lsoas(demo21):
    from sna.io.geography import count_by

    geo = demo21.geography
    sv = demo21.in_year()
    by_lsoa = count_by(sv, geo, "lsoa").merge(geo[["lsoa", "ward"]], on="lsoa")
    by_ward = count_by(sv, geo, "ward").set_index("ward").n
    assert by_lsoa.groupby("ward").n.sum().to_dict() == by_ward.to_dict()
    with pytest.raises(sna.errors.GeographyError, match="unknown area level"):
        from sna.io.geography import areas

        areas(geo, "county")


def test_a_welsh_area_with_wimd(tmp_path):
    import geopandas as gpd
    from shapely.geometry import box

    # three real Welsh LSOAs (Isle of Anglesey) as boxes: the area, its wards and WIMD deciles
    codes = ["W01000001", "W01000002", "W01000003"]
    gpd.GeoDataFrame({"LSOA11CD": codes}, geometry=[box(i * 100, 0, i * 100 + 100, 100) for i in range(3)],
                     crs=27700).to_file(tmp_path / "b.geojson", driver="GeoJSON")
    (tmp_path / "sna.yml").write_text(
        "area: Anglesey\nyear: 2019/20\ngeography:\n  boundaries: b.geojson\n  imd: bundled-wimd2019\n"
        "sources:\n  police:\n    format: police_uk\n    path: b.geojson\n")
    geo, _ = load_geography(load_config(tmp_path / "sna.yml"))
    wimd = read_deprivation("bundled-wimd2019").set_index("lsoa")
    assert geo.imd_decile.tolist() == wimd.loc[codes, "imd_decile"].tolist() == [5, 7, 3]
    assert set(geo.deprivation_index) == {"WIMD 2019"} and set(geo.district_name) == {"Isle of Anglesey"}
    assert geo.ward_name.notna().all() and geo.msoa_name.str.startswith("Isle of Anglesey").all()
    assert "Welsh Government WIMD 2019" in {m["reference"] for m in geo.attrs["sna"]["methods"]}


def test_a_baseline_across_the_change_of_vintage_is_harmonised():
    from sna.clean import place, start

    cfg = load_config(nottingham_sample_config()).model_copy()
    cfg.geography.lsoa_best_fit = "bundled"
    geo, _ = load_geography(cfg)  # 2011 LSOAs
    assert "Records on the other LSOA vintage" in {m["method"] for m in geo.attrs["sna"]["methods"]}
    # 2018: 2011 codes; 2022: 2021 codes for the same places (a merge and a split), no coordinates
    rows = pd.DataFrame({"month": ["2018-06", "2018-06", "2022-06", "2022-06", "2022-06"],
                         "code": ["E01013974", "E01033404", "E01035507", "E01035501", "E01035502"]})
    out = place(start(rows), geo, lsoa="code", best_fit="bundled")
    assert out["_reason"].isna().all()  # none lost
    merged_parent = best_fit_weights().query("lsoa21 == 'E01035507'").sort_values("pop11").lsoa11.iloc[-1]
    assert out["lsoa"].astype(str).tolist() == ["E01013974", "E01033404", merged_parent, "E01033404", "E01033404"]
    with pytest.raises(sna.errors.GeographyError, match="geography.lsoa_best_fit"):
        place(start(rows), geo, lsoa="code")


# ---- the ward table -----------------------------------------------------------------------
def test_ward_rate_table_reads_for_a_councillor(demo21):
    from sna import rates
    from sna.areas import rate_table

    sv = demo21.in_year()
    sv = sv[(sv.source == "police") & sv.serious_violence.fillna(False).astype(bool)]
    t = rate_table(sv, demo21.geography, "ward")
    assert len(t) == 187 and t.ward_name.notna().all() and t.n.sum() == sv.lsoa.notna().sum()
    assert t.n.is_monotonic_decreasing and t["rank"].iloc[0] == 1
    top = t.iloc[0]
    # the rate and interval are PHE's (Byar) on the ward's count and residents
    ref = rates.crude_rate(pd.DataFrame({"n": [top.n], "p": [top.population]}), "n", "p", multiplier=1000).iloc[0]
    assert (top.rate, top.lowercl, top.uppercl) == pytest.approx((ref.value, ref.lowercl, ref.uppercl))
    assert t.attrs["sna"]["area_rate"] == pytest.approx(t.n.sum() / t.population.sum() * 1000)
    assert set(t.compared) <= {"higher than the area (99.8%)", "higher than the area (95%)",
                               "similar to the area", "lower than the area (95%)", "lower than the area (99.8%)"}
    # every class agrees with the funnel on the same counts
    fun = rates.funnel(t, "n", "population", multiplier=1000)
    assert (fun.significance.map(sna.areas.COMPARISON) == t.compared).all()
    # the wards a map already holds (level_frame) give the same table, their shapes not
    # dissolved again; units of another level or without counts are refused
    from sna.areas import level_frame

    units = level_frame(sv, demo21.geography, "ward")
    pd.testing.assert_frame_equal(rate_table(sv, demo21.geography, "ward", units=units), t)
    with pytest.raises(sna.errors.AnalysisInputError, match="not the wards"):
        rate_table(sv, demo21.geography, "ward", units=units.iloc[:-1])
    with pytest.raises(sna.errors.AnalysisInputError, match="no column 'n'"):
        rate_table(sv, demo21.geography, "ward", units=units.drop(columns="n"))


def test_deprivation_workbooks_as_published(tmp_path):
    # a notes sheet first, then the data under a title row, as the published workbooks are laid out
    iod = read_deprivation(IOD25)
    f = tmp_path / "File_1_IoD2025.xlsx"
    data = pd.read_csv(IOD25)
    with pd.ExcelWriter(f) as xl:
        pd.DataFrame({"Notes": ["English Indices of Deprivation 2025"]}).to_excel(xl, sheet_name="Notes", index=False)
        title = ["File 1: index of multiple deprivation"] + [None] * (data.shape[1] - 1)
        rows = [title, list(data.columns), *data.astype(object).values.tolist()]
        pd.DataFrame(rows).to_excel(xl, sheet_name="IoD2025", index=False, header=False)
    got = read_deprivation(f)
    assert got.attrs["sna"]["deprivation_index"] == "iod2025"
    pd.testing.assert_frame_equal(got, iod, check_dtype=False)
    ods = tmp_path / "wimd.ods"
    ods.write_bytes(b"PK\x03\x04")
    with pytest.raises(InputFormatError, match="odfpy"):
        read_deprivation(ods)


def test_init_harmonises_police_data_on_both_vintages(tmp_path, capsys):
    import yaml

    from sna import cli
    from sna.datasets import nottingham_sample_config

    sample = nottingham_sample_config().parent
    police = tmp_path / "police" / "2019-02"
    police.mkdir(parents=True)
    text = (sample / "police" / "2019-02" / "2019-02-nottinghamshire-street.csv").read_text(encoding="utf-8")
    # data.police.uk later coded the same places on 2021 LSOAs: Nottingham 031E became part of 031L
    (police / "2019-02-nottinghamshire-street.csv").write_text(
        text.replace("E01013926,Nottingham 031E", "E01035505,Nottingham 031L"), encoding="utf-8")
    out = tmp_path / "sna.yml"
    code = cli.main(["init", "--police", str(tmp_path / "police"), "--boundaries",
                     str(sample / "boundaries"), "-o", str(out), "--quiet"])
    assert code == 0
    assert yaml.safe_load(out.read_text())["geography"]["lsoa_best_fit"] == "bundled"
    assert "harmonised by the ONS best-fit lookup" in capsys.readouterr().out
