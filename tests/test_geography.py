"""Geography: boundaries in any format, LSOA column and vintage detection, lookups,
population, IMD as published, the area, and mixed LSOA vintages."""

from __future__ import annotations

import gzip
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest

from sna.config import load_config
from sna.datasets import nottingham_sample_config
from sna.errors import GeographyError, InputFormatError
from sna.io.geography import (
    detect_lsoa_column,
    detect_vintage,
    geography_summary,
    harmonise_lsoa_codes,
    load_geography,
    read_best_fit_lookup,
    read_boundaries,
    read_district_csp_lookup,
    read_imd,
    read_lsoa_district_lookup,
    read_population,
    recode_district,
    vintage_mismatch,
)

SAMPLE = nottingham_sample_config().parent
BOUNDARY = SAMPLE / "boundaries" / "E06000018.json"
POP = SAMPLE / "population" / "population19_lsoa11.csv"
IMD = SAMPLE / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv"


@pytest.fixture(scope="module")
def city() -> gpd.GeoDataFrame:
    return read_boundaries(BOUNDARY)


def config(tmp_path: Path, boundaries, partnerships="  Nottingham City: [E06000018]\n", extra="") -> Path:
    p = tmp_path / "sna.yml"
    p.write_text(
        "area: Test\nyear: 2018/19\npartnerships:\n" + partnerships
        + f"geography:\n  boundaries: {boundaries}\n{extra}"
        + "sources:\n  police:\n    format: police_uk\n    path: police/\n"
    )
    return p


# ---- detection ----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "columns, expected",
    [
        (["LSOA11CD", "LSOA11NM"], ("LSOA11CD", 2011)),
        (["FID", "LSOA21CD", "LSOA21NM", "GlobalID"], ("LSOA21CD", 2021)),
        (["lsoa11cd", "lsoa11nm"], ("lsoa11cd", 2011)),
        (["lsoa21_code", "lsoa21_name"], ("lsoa21_code", 2021)),
        (["LSOA code (2011)", "LSOA name (2011)"], ("LSOA code (2011)", 2011)),
        (["LSOA code", "LSOA name"], ("LSOA code", None)),
        (["LSOA11NM", "code"], (None, None)),
    ],
)
def test_detect_lsoa_column(columns, expected):
    assert detect_lsoa_column(columns) == expected


def test_detect_lsoa_column_from_values():
    df = pd.DataFrame({"id": [1, 2], "zone": ["E01013810", "E01013811"]})
    assert detect_lsoa_column(["id", "zone"], df) == ("zone", None)


def test_detect_vintage_from_codes():
    # E01013926 was merged into E01035505 in 2021
    assert detect_vintage(["E01013810", "E01013926"]) == 2011
    assert detect_vintage(["E01013810", "E01035505"]) == 2021
    assert detect_vintage(["E01013810"]) is None


# ---- boundaries ---------------------------------------------------------------------------
def test_geojson_is_reprojected_to_bng(city):
    assert len(city) == 182 and city.crs.to_epsg() == 27700
    assert list(city.columns) == ["lsoa", "name", "geometry"]
    assert city.attrs["sna"]["lsoa_vintage"] == 2011
    assert city.attrs["sna"]["lsoa_column"] == "LSOA11CD"
    assert city.attrs["sna"]["source_crs"] == ["OGC:CRS84"] or "4326" in city.attrs["sna"]["source_crs"][0]
    minx, miny, maxx, maxy = city.total_bounds  # Nottingham in metres
    assert 450_000 < minx < maxx < 465_000 and 330_000 < miny < maxy < 352_000
    assert city.loc[city.lsoa == "E01013810", "name"].item() == "Nottingham 018A"


@pytest.mark.parametrize("driver, suffix", [("GPKG", ".gpkg"), ("ESRI Shapefile", ".shp")])
def test_other_formats_folder_glob_and_list(tmp_path, city, driver, suffix):
    raw = gpd.read_file(BOUNDARY).to_crs(27700)
    half = len(raw) // 2
    raw.iloc[:half].to_file(tmp_path / f"a{suffix}", driver=driver)
    raw.iloc[half:].to_file(tmp_path / f"b{suffix}", driver=driver)
    for src in (tmp_path, str(tmp_path / f"*{suffix}"), [tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"]):
        b = read_boundaries(src)
        assert sorted(b.lsoa) == sorted(city.lsoa) and b.crs.to_epsg() == 27700
    assert np.isclose(b.area.sum(), city.area.sum(), rtol=1e-6)


def test_file_without_crs_is_guessed(tmp_path, caplog):
    import logging

    # a shapefile in British National Grid whose .prj is missing
    raw = gpd.read_file(BOUNDARY).head(3).to_crs(27700)
    raw.to_file(tmp_path / "nocrs.shp")
    (tmp_path / "nocrs.prj").unlink()
    with caplog.at_level(logging.INFO, logger="sna"):
        b = read_boundaries(tmp_path / "nocrs.shp")
    assert "no CRS" in caplog.text and "EPSG:27700" in caplog.text
    assert b.crs.to_epsg() == 27700
    assert np.allclose(b.total_bounds, raw.total_bounds)


def test_no_lsoa_column_names_file_and_columns(tmp_path):
    raw = gpd.read_file(BOUNDARY).head(2).rename(columns={"LSOA11CD": "zone_id", "LSOA11NM": "label"})
    raw["zone_id"] = ["A1", "A2"]
    f = tmp_path / "zones.geojson"
    raw.to_file(f, driver="GeoJSON")
    with pytest.raises(GeographyError) as e:
        read_boundaries(f)
    msg = str(e.value)
    assert str(f) in msg and "zone_id, label" in msg and "LSOA11CD" in msg


def test_unreadable_boundary_file(tmp_path):
    f = tmp_path / "broken.geojson"
    f.write_text('{"type": "FeatureCollection", "features": [')
    with pytest.raises(InputFormatError, match="cannot be read"):
        read_boundaries(f)


# ---- lookups ------------------------------------------------------------------------------
def test_lsoa_district_lookup_bundled():
    lk = read_lsoa_district_lookup()
    assert len(lk) == 34753 and lk.lsoa.is_unique
    notts = {"E06000018": 182, "E07000170": 74, "E07000171": 70, "E07000172": 71, "E07000173": 77,
             "E07000174": 67, "E07000175": 70, "E07000176": 68}
    counts = lk[lk.district.isin(notts)].groupby("district").size().to_dict()
    assert counts == notts


def test_lsoa_district_lookup_2021_from_best_fit():
    lk = read_lsoa_district_lookup(vintage=2021)
    row = lk[lk.lsoa == "E01035505"].iloc[0]
    assert row.district == "E06000018" and row["name"] == "Nottingham 031L"


def test_user_lookup_and_old_district_codes(tmp_path):
    f = tmp_path / "lk.csv"
    f.write_text("LSOA11CD,LSOA11NM,LAD11CD,LAD11NM\nE01008162,Gateshead 001A,E08000020,Gateshead\n")
    lk = read_lsoa_district_lookup(f)
    assert lk.district.tolist() == ["E08000037"]  # pre-2013 Gateshead code, recoded
    assert recode_district("E06000048") == "E06000057"
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(GeographyError, match="district code column"):
        read_lsoa_district_lookup(bad)


def test_csp_lookup():
    csp = read_district_csp_lookup()
    notts = csp[csp.pfa == "Nottinghamshire"]
    assert notts.csp.nunique() == 6 and len(notts) == 8
    assert csp.set_index("district").loc["E06000018", "csp"] == "Nottingham"


def test_best_fit_and_vintage_translation():
    bf = read_best_fit_lookup()
    assert set(bf.change_code.dropna()) <= {"U", "S", "M", "X"}
    area11 = ["E01013924", "E01013926", "E01013810"]
    assert vintage_mismatch(["E01035505", "E01013810", "E01099999"], 2011, area11) == {
        "E01035505": ["E01013924", "E01013926"]}
    assert harmonise_lsoa_codes(["E01035505"], 2011, area11) == {"E01035505": "E01013924"}
    assert harmonise_lsoa_codes(["E01013926"], 2021, ["E01035505"]) == {"E01013926": "E01035505"}


# ---- population and IMD --------------------------------------------------------------------
def test_population_single_year_wide():
    pop = read_population(POP)
    raw = pd.read_csv(POP)
    assert pop.attrs["sna"]["population_age_method"] == "single_year"
    assert sorted(pop.age.unique()) == list(range(91))
    assert pop.population.sum() == raw.total_population.sum() == 332900
    one = pop[pop.lsoa == "E01013810"].set_index("age").population
    assert one[0] == 39 and one[90] == raw.loc[raw.lsoa11_code == "E01013810", "90+"].item()


def test_population_rows_are_chosen_before_numbers_are_converted(monkeypatch):
    """A national file read for an area: only the area's rows are converted, same figures."""
    full = read_population(POP)
    seen = []

    def rows(codes):
        seen.append(codes.tolist())
        return codes.isin({"E01013810", "E01013811"}).to_numpy()

    part = read_population(POP, rows=rows)
    want = full[full.lsoa.isin({"E01013810", "E01013811"})].reset_index(drop=True)
    pd.testing.assert_frame_equal(part, want)
    assert part.attrs["sna"] == full.attrs["sna"] and len(part) == 2 * 91
    assert len(seen) == 1 and len(seen[0]) == 182 and "E01013810" in seen[0]

    # every column converted to numbers holds the two rows kept, not the file's 182
    from sna.io.geography import population as population_module

    sizes = []
    real = population_module.to_number
    monkeypatch.setattr(population_module, "to_number", lambda col: sizes.append(len(col)) or real(col))
    read_population(POP, rows=rows)
    assert sizes and set(sizes) == {2}


def test_population_bands_and_long(tmp_path):
    f = tmp_path / "bands.csv"
    f.write_text("LSOA11CD,All ages,0-4,5-9,10 to 89,90+\nE01013810,\"1,000\",50,100,800,50\n")
    pop = read_population(f)
    assert pop.attrs["sna"]["population_age_method"] == "bands_spread_evenly"
    s = pop.set_index("age").population
    assert s[0] == 10 and s[9] == 20 and s[90] == 50 and np.isclose(s.sum(), 1000)
    g = tmp_path / "long.csv.gz"
    with gzip.open(g, "wt") as fh:
        fh.write("lsoa_code,age,population\nE01013810,0,5\nE01013810,95,2\nE01013810,90,1\n")
    pop = read_population(g)
    assert pop.to_dict("list") == {"lsoa": ["E01013810"] * 2, "age": [0, 90], "population": [5.0, 3.0]}


def test_population_without_ages(tmp_path):
    f = tmp_path / "p.csv"
    f.write_text("lsoa11_code,total\nE01013810,5\n")
    with pytest.raises(InputFormatError, match="no age columns"):
        read_population(f)


def test_imd_file1_as_published():
    assert IMD.read_bytes().startswith(b"\xef\xbb\xbf")  # byte-order mark
    imd = read_imd(IMD)
    assert len(imd) == 182 and imd.imd_decile.between(1, 10).all()
    assert imd.set_index("lsoa").loc["E01013810", "imd_rank"] == 1767


def test_imd_thousands_separators(tmp_path):
    f = tmp_path / "imd.csv"
    f.write_bytes(
        "\ufeffLSOA code (2011),LSOA name (2011),Local Authority District code (2019),"
        "Local Authority District name (2019),Index of Multiple Deprivation (IMD) Rank,"
        "Index of Multiple Deprivation (IMD) Decile\n"
        'E01000001,City of London 001A,E09000001,City of London,"29,199",9\n'.encode("utf-8")
    )
    assert read_imd(f).iloc[0].tolist() == ["E01000001", 29199, 9]


# ---- the area -----------------------------------------------------------------------------
def test_load_geography_sample():
    geo, pop = load_geography(load_config(nottingham_sample_config()))
    assert list(geo.columns) == ["lsoa", "name", "msoa", "msoa_name", "ward", "ward_name", "district",
                                 "district_name", "partnership", "population", "imd_decile", "imd_rank",
                                 "deprivation_index", "geometry"]
    assert len(geo) == 182 and geo.crs.to_epsg() == 27700 and geo.lsoa.is_monotonic_increasing
    assert set(geo.district) == {"E06000018"} and set(geo.district_name) == {"Nottingham"}
    assert geo.population.sum() == 332900 and geo.imd_decile.notna().all()
    assert pop.lsoa.nunique() == 182
    s = geography_summary(geo)
    assert s["lsoas"] == 182 and s["partnerships"]["Nottingham City"] == {
        "districts": ["E06000018"], "lsoas": 182, "population": 332900}


def test_area_is_the_lsoas_of_partnership_districts(tmp_path):
    # the city's boundaries, a partnership of the city and Ashfield (absent from the boundaries)
    cfg = load_config(config(tmp_path, BOUNDARY, "  Two: [E06000018, E07000170]\n"))
    geo, _ = load_geography(cfg)
    assert len(geo) == 182
    assert any("E07000170" in n for n in geo.attrs["sna"]["notes"])


def test_no_partnership_configured_means_each_district(tmp_path):
    p = tmp_path / "sna.yml"
    p.write_text(f"area: T\ngeography:\n  boundaries: {BOUNDARY}\nsources:\n  p:\n    format: police_uk\n    path: x\n")
    geo, _ = load_geography(load_config(p))
    assert set(geo.partnership) == {"Nottingham"}


def test_partnerships_matching_no_boundary(tmp_path):
    cfg = load_config(config(tmp_path, BOUNDARY, "  County: [E07000170]\n"))
    with pytest.raises(GeographyError, match="E07000170.*E06000018") as e:
        load_geography(cfg)
    assert e.value.key == "partnerships"


def test_boundaries_of_another_vintage_than_the_lookup(tmp_path):
    b = gpd.read_file(BOUNDARY).head(3)
    b["LSOA11CD"] = ["E01035505", "E01035506", "E01035507"]  # 2021-only codes labelled 2011
    b.to_file(tmp_path / "b.geojson", driver="GeoJSON")
    with pytest.raises(GeographyError, match="vintage"):
        load_geography(load_config(config(tmp_path, tmp_path / "b.geojson")))
