"""Tests of sna.hotspot: known answers (esda, the Ord-Getis formula, worked rate examples), the real
Nottingham boundaries and data.police.uk records, constructed persistence series, and every
failure mode."""

from __future__ import annotations

import glob
import logging
import math
import warnings
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from numpy.testing import assert_allclose
import shapely
from scipy import sparse, stats
from shapely.geometry import box

from sna import hotspot as hs
from sna.hotspot import _inference
from sna.errors import AnalysisInputError, SnaError

SAMPLE = Path(__file__).resolve().parents[1] / "sna" / "datasets" / "nottingham-sample"
DATA = Path(__file__).resolve().parent / "data" / "spatial"


# --------------------------------------------------------------------------------------------
# fixtures
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def geography() -> gpd.GeoDataFrame:
    """The real, generalised 2011 LSOA boundaries of Nottingham (182 LSOAs, WGS84)."""
    g = gpd.read_file(SAMPLE / "boundaries" / "E06000018.json")
    return g.rename(columns={"LSOA11CD": "lsoa", "LSOA11NM": "name"})


@pytest.fixture(scope="module")
def violence() -> pd.DataFrame:
    """data.police.uk 'Violence and sexual offences', Oct 2018 - Feb 2019, read with pandas."""
    files = sorted(glob.glob(str(SAMPLE / "police" / "*" / "*.csv")))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    v = df[df["Crime type"] == "Violence and sexual offences"]
    return v.rename(columns={"LSOA code": "lsoa", "Month": "month"}).reset_index(drop=True)


@pytest.fixture(scope="module")
def city_counts(geography, violence) -> gpd.GeoDataFrame:
    return hs.count(violence, areas=geography)


def lattice(values, ncol: int, size: float = 100.0) -> gpd.GeoDataFrame:
    """Square cells in rows of ``ncol``, with the values in column ``n``."""
    values = np.asarray(values)
    cells = [
        box((i % ncol) * size, (i // ncol) * size, (i % ncol + 1) * size, (i // ncol + 1) * size)
        for i in range(len(values))
    ]
    return gpd.GeoDataFrame({"n": values}, geometry=cells, crs=27700)


def esda_w(mat):
    from libpysal.weights import WSP

    return WSP(sparse.csr_matrix(mat)).to_W(silence_warnings=True)


def ord_getis(x, adj):
    """The Gi* z-score written out unit by unit (Ord & Getis 1995), binary weights, self in."""
    x = np.asarray(x, dtype=float)
    n = len(x)
    xbar = x.mean()
    s = math.sqrt((x**2).sum() / n - xbar**2)
    out = []
    a = np.asarray(adj.todense())
    for i in range(n):
        w = a[i].copy()
        w[i] = 1.0
        wi, s1 = w.sum(), (w**2).sum()
        out.append(((w * x).sum() - xbar * wi) / (s * math.sqrt((n * s1 - wi**2) / (n - 1))))
    return np.array(out)


# --------------------------------------------------------------------------------------------
# grid
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("width", "height", "expected"),
    [
        (10_000, 5_000, 100.0),
        (20_000, 14_600, 200.0),
        (3_000, 9_000, 60.0),
        (300, 400, 6.0),
        (7_399, 8_000, 100.0),
        (2_990, 8_000, 50.0),
    ],
)
def test_grid_automatic_cell_size_rule(width, height, expected, caplog):
    area = gpd.GeoDataFrame(geometry=[box(0, 0, width, height)], crs=27700)
    with caplog.at_level(logging.INFO, logger="sna"):
        g = hs.grid(area)
    meta = g.attrs["sna"]["grid"]
    assert meta["cell_size"] == expected
    assert g.attrs["sna"]["cell_size"] == expected
    assert meta["cell_size_rule"].startswith("automatic")
    assert "cell size set to" in caplog.text


def test_grid_cells_are_clipped_to_the_study_area(geography):
    g = hs.grid(geography, cell_size=500)
    area = shapely.union_all(geography.to_crs(27700).geometry.to_numpy())
    assert g.crs.to_epsg() == 27700
    assert g["cell_id"].tolist() == list(range(len(g)))
    # the cells tile the area exactly: no cell outside, nothing of the area left out
    assert g.geometry.area.sum() == pytest.approx(area.area, rel=1e-6)
    assert set(g.geom_type) <= {"Polygon", "MultiPolygon"}
    assert g.attrs["sna"]["grid"]["study_area"] == "union of the polygons"


def test_grid_is_anchored_on_multiples_of_the_cell_size():
    area = gpd.GeoDataFrame(geometry=[box(123, 456, 1_123, 1_456)], crs=27700)
    g = hs.grid(area, cell_size=250)
    assert g.attrs["sna"]["grid"]["origin"] == [0.0, 250.0]
    full = g[np.isclose(g.area, 250 * 250)]
    assert set(np.round(full.bounds["minx"] % 250, 6)) == {0.0}


def test_hex_grid_has_six_neighbours_inside():
    area = gpd.GeoDataFrame(geometry=[box(0, 0, 3_000, 3_000)], crs=27700)
    g = hs.grid(area, cell_size=200, shape="hex")
    assert g.attrs["sna"]["grid"]["shape"] == "hex"
    w, _info = hs.neighbours(g, "adjacent")
    card = np.diff(w.indptr)
    assert card.max() == 6
    inner = g.geometry.area.to_numpy() > 0.999 * (200**2 * math.sqrt(3) / 2)
    assert (card[inner] >= 3).all() and np.median(card[inner]) == 6
    # hexagon area = (sqrt(3)/2) * flat-to-flat width squared
    assert g.geometry.area.max() == pytest.approx(200**2 * math.sqrt(3) / 2)


def test_grid_from_points_uses_their_convex_hull():
    pts = pd.DataFrame({"x": [0, 1000, 0, 1000], "y": [0, 0, 1000, 1000]})
    g = hs.grid(pts, cell_size=100)
    assert len(g) == 100
    assert g.attrs["sna"]["grid"]["study_area"] == "convex hull of the points"


def test_grid_errors():
    area = gpd.GeoDataFrame(geometry=[box(0, 0, 1000, 1000)], crs=27700)
    with pytest.raises(AnalysisInputError, match="shape"):
        hs.grid(area, shape="triangle")
    with pytest.raises(AnalysisInputError, match="positive"):
        hs.grid(area, cell_size=0)
    with pytest.raises(AnalysisInputError, match="larger cell_size"):
        hs.grid(area, cell_size=0.1)
    with pytest.raises(AnalysisInputError, match="empty"):
        hs.grid(area.iloc[:0])
    with pytest.raises(AnalysisInputError, match="GeoDataFrame"):
        hs.grid([1, 2, 3])


# --------------------------------------------------------------------------------------------
# count
# --------------------------------------------------------------------------------------------


def two_areas():
    return gpd.GeoDataFrame(
        {"lsoa": ["A", "B"], "population": [1000, 500]},
        geometry=[box(0, 0, 100, 100), box(100, 0, 200, 100)],
        crs=27700,
    )


def test_count_point_in_polygon_records_outside_and_missing():
    areas = two_areas()
    events = pd.DataFrame(
        {"x": [10, 20, 150, 500, np.nan], "y": [10, 20, 50, 50, np.nan], "w": [1, 2, 3, 4, 5]}
    )
    before = events.copy()
    out = hs.count(events, areas=areas, weights="w", population="population")
    assert out["n"].tolist() == [2, 1]
    assert out["n"].dtype == np.int64
    assert out["sum"].tolist() == [3.0, 3.0]
    assert out["rate"].tolist() == [2.0, 2.0]
    meta = out.attrs["sna"]["count"]
    assert meta == {
        **meta,
        "events": 5,
        "counted": 3,
        "outside": 1,
        "missing_location": 1,
        "method": "point in polygon",
    }
    pd.testing.assert_frame_equal(events, before)  # input untouched
    assert "n" not in areas.columns


def test_count_point_on_a_shared_border_is_counted_once():
    out = hs.count(pd.DataFrame({"x": [100.0], "y": [50.0]}), areas=two_areas())
    assert out["n"].sum() == 1


def test_count_reprojects_lon_lat_with_a_log_line(geography, violence, caplog):
    with caplog.at_level(logging.INFO, logger="sna"):
        out = hs.count(violence[["Longitude", "Latitude"]], areas=geography)
    assert "longitude/latitude" in caplog.text
    assert "reprojected" in out.attrs["sna"]["count"]
    # generalised boundaries misplace a few events near borders, but most land in the city
    assert out["n"].sum() > 0.9 * violence["lsoa"].isin(geography["lsoa"]).sum()
    # a GeoDataFrame in WGS84 gives the same counts
    gdf = gpd.GeoDataFrame(
        geometry=gpd.points_from_xy(violence["Longitude"], violence["Latitude"]), crs=4326
    ).dropna()
    gdf = gdf[~gdf.geometry.is_empty]
    out2 = hs.count(gdf, areas=geography)
    assert out2["n"].tolist() == out["n"].tolist()


def test_count_by_lsoa_code_keeps_the_real_quirks(city_counts, violence):
    meta = city_counts.attrs["sna"]["count"]
    assert meta["method"] == "matched on column 'lsoa'"
    assert meta["events"] == len(violence)
    # no location at all, out of the force area, or in the county: never lost silently
    assert meta["missing_location"] == violence["lsoa"].isna().sum()
    assert meta["counted"] + meta["outside"] + meta["missing_location"] == meta["events"]
    assert city_counts["n"].sum() == meta["counted"]
    assert len(city_counts) == 182 and city_counts.index.equals(pd.RangeIndex(182))


def test_count_falls_back_to_location_for_events_without_a_code():
    areas = two_areas()
    ev = pd.DataFrame(
        {"lsoa": ["A", None, None], "x": [np.nan, 150.0, np.nan], "y": [np.nan, 50.0, np.nan]}
    )
    out = hs.count(ev, areas=areas)
    assert out["n"].tolist() == [1, 1]
    assert out.attrs["sna"]["count"]["placed_by_location"] == 1
    assert out.attrs["sna"]["count"]["missing_location"] == 1


def test_count_without_areas_builds_a_grid():
    ev = pd.DataFrame({"x": np.linspace(0, 5000, 40), "y": np.linspace(0, 5000, 40) ** 0.5 * 50})
    out = hs.count(ev)
    assert out["n"].sum() == 40
    assert out.attrs["sna"]["count"]["grid"]["cell_size"] > 0


def test_count_errors():
    areas = two_areas()
    with pytest.raises(AnalysisInputError, match="empty"):
        hs.count(pd.DataFrame({"x": [], "y": []}), areas=areas)
    with pytest.raises(AnalysisInputError, match="no coordinates"):
        hs.count(pd.DataFrame({"a": [1]}), areas=areas, key=None)
    with pytest.raises(AnalysisInputError, match="no geometry"):
        hs.count(pd.DataFrame({"x": [1], "y": [1]}), areas=pd.DataFrame({"lsoa": ["A"]}))
    with pytest.raises(AnalysisInputError, match="not both"):
        hs.count(pd.DataFrame({"x": [1], "y": [1]}), areas=areas, grid=areas)
    with pytest.raises(AnalysisInputError, match="weights column"):
        hs.count(pd.DataFrame({"x": [1], "y": [1]}), areas=areas, weights="nope")
    with pytest.raises(AnalysisInputError, match="point geometries"):
        hs.count(areas.drop(columns="lsoa"), areas=areas)
    with pytest.raises(AnalysisInputError, match="population"):
        hs.count(
            pd.DataFrame({"x": [1], "y": [1]}),
            areas=areas.assign(population=[0, 5]),
            population="population",
        )
    assert issubclass(AnalysisInputError, SnaError)


# --------------------------------------------------------------------------------------------
# kde
# --------------------------------------------------------------------------------------------


def test_kde_known_value_and_mass():
    # one event at a cell centre: the density there is the kernel's peak 3 / (pi h^2)
    area = gpd.GeoDataFrame(geometry=[box(0, 0, 4000, 4000)], crs=27700)
    cells = hs.grid(area, cell_size=50)
    ev = pd.DataFrame({"x": [2025.0], "y": [2025.0]})
    k = hs.kde(ev, grid=cells, bandwidth=500)
    assert k["kde"].max() == pytest.approx(3 / (math.pi * 500**2) * 1e6)
    # the surface integrates to the number of events (events per km2 x km2)
    assert (k["kde"] * k.area / 1e6).sum() == pytest.approx(1.0, rel=0.01)
    assert k["n"].sum() == 1
    assert k.attrs["sna"]["kde"]["kernel"] == "quartic"
    assert k.attrs["sna"]["kde"]["bandwidth_rule"] == "given"


def test_kde_nrd_bandwidth_is_the_documented_rule(violence, geography, caplog):
    xy = violence.loc[violence["lsoa"].isin(geography["lsoa"]), ["Longitude", "Latitude"]]
    with caplog.at_level(logging.INFO, logger="sna"):
        k = hs.kde(xy, cell_size=400, bandwidth="nrd")
    from pyproj import Transformer

    ex, ny = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        xy["Longitude"].to_numpy(), xy["Latitude"].to_numpy()
    )

    def nrd(v):
        q = np.percentile(v, [75, 25])
        return 4 * 1.06 * min(np.std(v, ddof=1), (q[0] - q[1]) / 1.34) * len(v) ** (-0.2)

    assert k.attrs["sna"]["bandwidth"] == round((nrd(ex) + nrd(ny)) / 2)
    assert k.attrs["sna"]["kde"]["bandwidth_rule"].startswith("rule of thumb")
    assert "chosen from the data (nrd)" in caplog.text
    assert k["n"].sum() == len(xy)


def _clusters(seed):
    rng = np.random.default_rng(seed)
    return np.vstack([rng.normal([0, 0], 300, (120, 2)),
                      rng.normal([2000, 500], 150, (80, 2))]).round(1)


@pytest.mark.parametrize("seed", [1, 2])
def test_kde_cross_validated_bandwidth_maximises_statsmodels_loo_likelihood(seed):
    """Without repeated locations, the default bandwidth's Gaussian sd is the isotropic
    maximiser of statsmodels' own leave-one-out likelihood (KDEMultivariate, the cv_ml
    criterion), found here with scipy; the radius is 2.78 sd for the quartic kernel."""
    from scipy.optimize import minimize_scalar
    from statsmodels.nonparametric.kernel_density import KDEMultivariate

    xy = _clusters(seed)
    ref = KDEMultivariate(xy, var_type="cc", bw=[100.0, 100.0])
    best = minimize_scalar(lambda ls: ref.loo_likelihood(np.full(2, math.exp(ls)), np.log),
                           bounds=(math.log(10), math.log(3000)), method="bounded",
                           options={"xatol": 1e-4})
    k = hs.kde(pd.DataFrame(xy, columns=["x", "y"]), cell_size=100)
    meta = k.attrs["sna"]["kde"]
    sel = meta["bandwidth_selection"]
    assert sel["gaussian_sd"] == pytest.approx(math.exp(best.x), rel=0.005)
    assert not sel["at_search_bound"] and sel["locations"] == 200
    assert hs.kernel_scale("quartic") == pytest.approx((2304 / 5) ** (1 / 6))  # 2.779
    assert meta["bandwidth"] == round(sel["gaussian_sd"] * hs.kernel_scale("quartic"))
    assert meta["bandwidth_rule"].startswith("likelihood cross-validation")
    # the same events at every location twice: the location is left out whole, so the
    # choice does not collapse towards 0 (leaving one event out would find its twin)
    twice = hs.kde(pd.DataFrame(np.vstack([xy, xy]), columns=["x", "y"]), cell_size=100)
    assert twice.attrs["sna"]["kde"]["bandwidth_selection"]["gaussian_sd"] == pytest.approx(
        sel["gaussian_sd"], rel=0.01)


def test_kde_default_bandwidth_on_the_real_sample_follows_the_clustering(violence, geography):
    """The real Nottingham events (snapped to shared map points): the cross-validated radius
    is a few hundred metres, well under the normal-reference rules that read only the
    events' overall spread."""
    xy = violence.loc[violence["lsoa"].isin(geography["lsoa"]), ["Longitude", "Latitude"]]
    k = hs.kde(xy, cell_size=400)
    meta = k.attrs["sna"]["kde"]
    sel = meta["bandwidth_selection"]
    assert sel["locations"] < len(xy)  # many events share a snap point
    assert 300 < meta["bandwidth"] < 1000 and not sel["at_search_bound"]
    scott = hs.kde(xy, cell_size=400, bandwidth="scott").attrs["sna"]["kde"]["bandwidth"]
    nrd = hs.kde(xy, cell_size=400, bandwidth="nrd").attrs["sna"]["kde"]["bandwidth"]
    assert meta["bandwidth"] < scott / 1.5 and meta["bandwidth"] < nrd / 1.5
    assert hs.kde(xy, cell_size=400).attrs["sna"]["kde"]["bandwidth"] == meta["bandwidth"]


def test_cells_within_keeps_the_cells_whose_centre_is_in_the_area(violence, geography):
    """A surface over the points' convex hull, cut back to the real boundaries."""
    xy = violence.loc[violence["lsoa"].isin(geography["lsoa"]), ["Longitude", "Latitude"]]
    k = hs.kde(xy, cell_size=400)
    kept = hs.cells_within(k, geography)
    union = geography.to_crs(27700).geometry.union_all()
    inside = k.geometry.centroid.intersects(union)
    assert 0 < len(kept) < len(k)  # the hull spills past the boundary, and most cells stay
    assert len(kept) == int(inside.sum())
    assert kept["cell_id"].tolist() == k.loc[inside, "cell_id"].tolist()  # order kept
    assert list(kept.index) == list(range(len(kept)))
    assert kept.attrs["sna"]["kde"] == k.attrs["sna"]["kde"]
    with pytest.raises(AnalysisInputError, match="area is empty"):
        hs.cells_within(k, geography.iloc[:0])


@pytest.mark.parametrize("kernel", ["quartic", "epanechnikov", "triangular", "uniform"])
def test_kde_kernels_integrate_to_one(kernel):
    area = gpd.GeoDataFrame(geometry=[box(0, 0, 3000, 3000)], crs=27700)
    cells = hs.grid(area, cell_size=25)
    k = hs.kde(
        pd.DataFrame({"x": [1510.0], "y": [1490.0]}), grid=cells, bandwidth=400, kernel=kernel
    )
    assert (k["kde"] * k.area / 1e6).sum() == pytest.approx(1.0, rel=0.02)


def test_kde_errors():
    ev = pd.DataFrame({"x": [1.0, 2.0], "y": [1.0, 2.0]})
    with pytest.raises(AnalysisInputError, match="kernel"):
        hs.kde(ev, kernel="gaussian2")
    with pytest.raises(AnalysisInputError, match="positive"):
        hs.kde(ev, bandwidth=-1)
    with pytest.raises(AnalysisInputError, match="no location|none of the points"):
        hs.kde(pd.DataFrame({"x": [np.nan], "y": [np.nan]}))
    with pytest.raises(AnalysisInputError, match="one place"):
        hs.kde(pd.DataFrame({"x": [5.0, 5.0], "y": [5.0, 5.0]}))
    with pytest.raises(AnalysisInputError, match="fewer than 3 places"):
        hs.kde(pd.DataFrame({"x": [5.0, 5.0, 9.0], "y": [5.0, 5.0, 9.0]}))
    with pytest.raises(AnalysisInputError, match="'lcv', 'scott' or 'nrd'"):
        hs.kde(ev, bandwidth="silverman")


# --------------------------------------------------------------------------------------------
# neighbours: the real boundaries' slivers, islands
# --------------------------------------------------------------------------------------------


def test_real_boundaries_have_no_queen_neighbours_in_libpysal(geography):
    from libpysal.weights import Queen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = Queen.from_dataframe(geography.to_crs(27700), use_index=False, silence_warnings=True)
    assert len(q.islands) == 182  # the problem the default weights must cope with


def test_default_weights_cope_with_slivers(geography):
    w, info = hs.neighbours(geography)
    assert info["islands"] == []
    assert info["components"] == 1
    assert info["tolerance"] == 1.0
    assert info["neighbours_min"] >= 2
    assert info["pairs_only_with_tolerance"] > 0
    assert (w != w.T).nnz == 0 and w.diagonal().sum() == 0
    # the same neighbours as libpysal's fuzzy contiguity (each polygon buffered by half the gap)
    from libpysal.weights import fuzzy_contiguity

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # libpysal's own pandas deprecation warning
        f = fuzzy_contiguity(geography.to_crs(27700), buffering=True, buffer=0.5)
    assert (f.sparse != w).nnz == 0


def island_frame():
    cells = [box(0, 0, 1, 1), box(1.5, 0, 2.5, 1), box(2.5, 0, 3.5, 1), box(10, 0, 11, 1)]
    return gpd.GeoDataFrame(
        {"lsoa": ["a", "b", "c", "far"], "n": [1, 5, 7, 2]}, geometry=cells, crs=27700
    )


def test_island_joined_to_nearest_and_recorded(caplog):
    g = island_frame()
    with caplog.at_level(logging.WARNING, logger="sna"):
        w, info = hs.neighbours(g, tolerance=0.1)
    assert info["islands"] == ["a", "far"]
    assert info["islands_joined_to"] == [["a", "b"], ["far", "c"]]
    assert w[0, 1] == w[1, 0] == 1 and w[3, 2] == w[2, 3] == 1
    assert "no neighbour" in caplog.text
    with pytest.raises(AnalysisInputError, match="no neighbour"):
        hs.neighbours(g, tolerance=0.1, islands="raise")


def test_an_island_never_gets_a_silent_zero():
    # the island's z is computed with its nearest neighbour, and the run does not break
    vals = [0, 1, 0, 2, 0, 9, 8, 1, 7, 9, 1, 0, 3]
    cells = [
        box((i % 4) * 10, (i // 4) * 10, (i % 4) * 10 + 10, (i // 4) * 10 + 10) for i in range(12)
    ]
    cells.append(box(200, 200, 210, 210))  # far away
    g = gpd.GeoDataFrame({"n": vals}, geometry=cells, crs=27700)
    out = hs.gistar(g, permutations=99)
    meta = out.attrs["sna"]["gistar"]["weights"]
    assert meta["islands"] == ["12"]
    w, _ = hs.neighbours(g)
    assert np.allclose(out["gistar"], ord_getis(vals, w))
    assert out["gistar"].iloc[12] != 0 and np.isfinite(out["pvalue"]).all()


@pytest.mark.parametrize("spec", ["queen", "fuzzy", "adjacent", "strict", "knn"])
def test_weights_names(spec):
    g = lattice(np.arange(16), 4)
    w, info = hs.neighbours(g, spec)
    card = np.diff(w.indptr)
    if spec == "knn":
        assert (card == 6).all()
    else:
        assert card.max() == 8 and card.min() == 3
    assert info["method"]


def test_weights_distance_and_given_matrix():
    g = lattice(np.arange(9), 3)
    w, _info = hs.neighbours(g, "distance", distance=101)
    assert np.diff(w.indptr).tolist() == [2, 3, 2, 3, 4, 3, 2, 3, 2]
    w2, info2 = hs.neighbours(g, w)
    assert (w2 != w).nnz == 0 and info2["method"].startswith("given")
    lib = esda_w(w)
    w3, _ = hs.neighbours(g, lib)
    assert (w3 != w).nnz == 0


def test_weights_errors():
    g = lattice(np.arange(9), 3)
    with pytest.raises(AnalysisInputError, match="unknown weights"):
        hs.neighbours(g, "rooks")
    with pytest.raises(AnalysisInputError, match="shape"):
        hs.neighbours(g, sparse.identity(4))
    with pytest.raises(AnalysisInputError, match="distance="):
        hs.neighbours(g, "distance")
    with pytest.raises(AnalysisInputError, match="needs geometry"):
        hs.neighbours(pd.DataFrame({"n": [1, 2, 3]}), "queen")
    with pytest.raises(AnalysisInputError, match="weights must be"):
        hs.neighbours(g, 3)


# --------------------------------------------------------------------------------------------
# multiple testing
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["fdr_bh", "holm", "bonferroni"])
def test_corrections_match_statsmodels(method):
    from statsmodels.stats.multitest import multipletests

    p = np.random.default_rng(3).uniform(0, 0.2, 60) ** 2
    assert np.allclose(hs.adjust_pvalues(p, method), multipletests(p, method=method)[1], atol=1e-12)


def test_correction_none_and_nan():
    p = np.array([0.01, np.nan, 0.04])
    assert np.array_equal(hs.adjust_pvalues(p, None), p, equal_nan=True)
    adj = hs.adjust_pvalues(p, "bonferroni")
    assert np.isnan(adj[1]) and adj[0] == pytest.approx(0.02)
    with pytest.raises(AnalysisInputError, match="unknown correction"):
        hs.adjust_pvalues(p, "sidak2")


# --------------------------------------------------------------------------------------------
# Gi*
# --------------------------------------------------------------------------------------------


def test_gistar_z_equals_esda_and_the_formula_on_real_data(city_counts):
    import esda

    out = hs.gistar(city_counts, permutations=0, correction=None)
    w, _ = hs.neighbours(city_counts)
    x = city_counts["n"].to_numpy(dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = esda.G_Local(x, esda_w(w), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(out["gistar"], ref.Zs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(out["gistar"], ord_getis(x, w), rtol=0, atol=1e-9)
    # analytical p-values are two-sided
    np.testing.assert_allclose(out["pvalue"], 2 * stats.norm.sf(np.abs(ref.Zs)), atol=1e-12)
    assert out.attrs["sna"]["gistar"]["alternative"] == "two-sided"


def test_gistar_z_equals_esda_on_a_lattice():
    import esda

    x = np.random.default_rng(5).poisson(3, 64).astype(float)
    g = lattice(x, 8)
    out = hs.gistar(g, permutations=0)
    w, _ = hs.neighbours(g, "adjacent")
    ref = esda.G_Local(x, esda_w(w), transform="B", star=True, permutations=0)
    np.testing.assert_allclose(out["gistar"], ref.Zs, rtol=0, atol=1e-9)


@pytest.mark.parametrize("correction", ["fdr_bh", "holm", "bonferroni", None])
def test_gistar_correction_options(city_counts, correction):
    from statsmodels.stats.multitest import multipletests

    out = hs.gistar(city_counts, permutations=0, correction=correction)
    if correction is None:
        np.testing.assert_array_equal(out["pvalue_adj"], out["pvalue"])
    else:
        np.testing.assert_allclose(
            out["pvalue_adj"], multipletests(out["pvalue"], method=correction)[1], atol=1e-12
        )
    assert out.attrs["sna"]["gistar"]["correction"] == correction
    # classes come from the adjusted p-value and the sign of z
    for label, lo, hi in [
        ("hot spot (99.9%)", 0, 0.001),
        ("hot spot (99%)", 0.001, 0.01),
        ("hot spot (95%)", 0.01, 0.05),
    ]:
        sel = out["hotspot"] == label
        assert ((out.loc[sel, "pvalue_adj"] > lo) | (lo == 0)).all()
        assert (out.loc[sel, "pvalue_adj"] <= hi).all() and (out.loc[sel, "gistar"] > 0).all()
    ns = out["hotspot"] == "not significant"
    assert (out.loc[ns, "pvalue_adj"] > 0.05).all()


def test_gistar_labels_both_directions():
    x = np.full(100, 10)
    grid_idx = np.arange(100).reshape(10, 10)
    x[grid_idx[1:4, 1:4].ravel()] = 40  # hot block
    x[grid_idx[6:9, 6:9].ravel()] = 0  # cold block
    out = hs.gistar(lattice(x, 10), permutations=0)
    assert out["hotspot"].iloc[grid_idx[2, 2]] == "hot spot (99.9%)"
    assert out["hotspot"].iloc[grid_idx[7, 7]].startswith("cold spot")
    assert set(out["hotspot"]) <= set(hs.HOTSPOT_LABELS)
    greater = hs.gistar(lattice(x, 10), permutations=0, alternative="greater")
    assert not greater["hotspot"].str.startswith("cold").any()
    np.testing.assert_allclose(greater["pvalue"], stats.norm.sf(greater["gistar"]))
    less = hs.gistar(lattice(x, 10), permutations=0, alternative="less")
    assert not less["hotspot"].str.startswith("hot").any()


@pytest.mark.parametrize("weighted", [False, True])
def test_conditional_engine_matches_a_slow_reference(weighted):
    rng = np.random.default_rng(11)
    x = rng.poisson(4, 30).astype(float)
    w, _ = hs.neighbours(lattice(x, 6), "adjacent")
    if weighted:  # unequal weights within rows
        w = w.multiply(rng.uniform(0.5, 2, w.shape)).tocsr()
    ge, le = _inference.tail_counts(x, w, 199, seed=7, conditional=True)
    ids = _inference._draws(len(x) - 1, 199, int(np.diff(w.indptr).max()), 7)
    obs = w @ x
    for i in range(len(x)):
        lo, hi = w.indptr[i], w.indptr[i + 1]
        d = ids[:, : hi - lo]
        j = d + (d >= i)  # the unit itself is never drawn
        assert not (j == i).any()
        sims = x[j] @ w.data[lo:hi]
        assert ge[i] == (sims >= obs[i] - 1e-9).sum() and le[i] == (sims <= obs[i] + 1e-9).sum()


def test_conditional_engine_in_blocks_gives_the_same_counts(monkeypatch):
    x = np.random.default_rng(13).poisson(3, 400).astype(float)
    w, _ = hs.neighbours(lattice(x, 20), "adjacent")
    whole = _inference.tail_counts(x, w, 99, seed=5, conditional=True)
    monkeypatch.setattr(_inference, "_BLOCK_BUDGET", 99 * 7)  # blocks of 7 units
    blocked = _inference.tail_counts(x, w, 99, seed=5, conditional=True)
    assert np.array_equal(whole[0], blocked[0]) and np.array_equal(whole[1], blocked[1])


def test_total_randomisation_engine_matches_a_slow_reference():
    rng = np.random.default_rng(12)
    x = rng.poisson(4, 30).astype(float)
    w, _ = hs.neighbours(lattice(x, 6), "adjacent")
    wstar = (w + sparse.identity(30)).tocsr()
    ge, le = _inference.tail_counts(x, wstar, 499, seed=3, conditional=False)
    ids = _inference._draws(30, 499, int(np.diff(wstar.indptr).max()), 3)
    obs = wstar @ x
    for i in range(30):
        sims = x[ids[:, : wstar.indptr[i + 1] - wstar.indptr[i]]].sum(axis=1)
        assert ge[i] == (sims >= obs[i]).sum() and le[i] == (sims <= obs[i]).sum()


def test_total_randomisation_has_the_gistar_moments():
    # the permutation z (from the simulated sums) converges to the analytical Gi* z
    x = np.random.default_rng(4).poisson(3, 200).astype(float)
    n, wi = len(x), 7
    d = _inference._draws(n, 20000, wi, 9)
    sims = x[d].sum(axis=1)
    s2 = (x**2).mean() - x.mean() ** 2
    assert sims.mean() == pytest.approx(wi * x.mean(), rel=0.01)
    assert sims.var() == pytest.approx(wi * (n - wi) / (n - 1) * s2, rel=0.03)


def test_draws_are_without_replacement():
    for n_other, kmax in [(5, 4), (1000, 9), (40, 9)]:
        d = _inference._draws(n_other, 300, kmax, 1)
        s = np.sort(d, axis=1)
        assert not (s[:, 1:] == s[:, :-1]).any() and d.min() >= 0 and d.max() < n_other


def test_gistar_permutations_are_seeded_and_two_sided(city_counts):
    a = hs.gistar(city_counts, permutations=199, seed=1)
    b = hs.gistar(city_counts, permutations=199, seed=1)
    c = hs.gistar(city_counts, permutations=199, seed=2)
    pd.testing.assert_frame_equal(a, b)
    assert not np.array_equal(a["pvalue"], c["pvalue"])
    assert a["pvalue"].min() == pytest.approx(2 / 200)
    assert a["pvalue"].max() <= 1
    meta = a.attrs["sna"]["gistar"]
    assert meta["seed"] == 1 and meta["permutations"] == 199
    assert meta["pvalue_floor"] == pytest.approx(0.01)
    np.testing.assert_allclose(a["gistar"], hs.gistar(city_counts, permutations=0)["gistar"])


def test_gistar_on_rates(city_counts):
    pop = pd.read_csv(
        SAMPLE / "population" / "population19_lsoa11.csv",
        usecols=["lsoa11_code", "total_population"],
    )
    data = city_counts.merge(pop, left_on="lsoa", right_on="lsoa11_code").rename(
        columns={"total_population": "population"}
    )
    out = hs.gistar(data, rates=True, permutations=0)
    np.testing.assert_allclose(out["rate"], data["n"] / data["population"] * 1000)
    w, _ = hs.neighbours(data)
    np.testing.assert_allclose(out["gistar"], ord_getis(out["rate"], w), atol=1e-9)
    assert out.attrs["sna"]["gistar"]["rate"] == {"population": "population", "per": 1000}
    with pytest.raises(AnalysisInputError, match="population"):
        hs.gistar(city_counts, rates=True)


def test_gistar_errors(city_counts):
    with pytest.raises(AnalysisInputError, match="not found"):
        hs.gistar(city_counts, value="count")
    with pytest.raises(AnalysisInputError, match="missing or non-numeric"):
        hs.gistar(city_counts.assign(n=np.where(city_counts.index == 3, np.nan, city_counts["n"])))
    with pytest.raises(AnalysisInputError, match="all values"):
        hs.gistar(city_counts.assign(n=4))
    with pytest.raises(AnalysisInputError, match="unknown weights"):
        hs.gistar(city_counts, weights="rook2")
    with pytest.raises(AnalysisInputError, match="unknown correction"):
        hs.gistar(city_counts, correction="fdr")
    with pytest.raises(AnalysisInputError, match="alternative"):
        hs.gistar(city_counts, alternative="two_sided")
    with pytest.raises(AnalysisInputError, match="empty"):
        hs.gistar(city_counts.iloc[:0])
    with pytest.raises(AnalysisInputError, match="needs geometry"):
        hs.gistar(pd.DataFrame(city_counts.drop(columns="geometry")))
    with pytest.raises(AnalysisInputError, match="permutations"):
        hs.gistar(city_counts, permutations=-5)


def test_gistar_works_without_geometry_given_a_matrix(city_counts):
    w, _ = hs.neighbours(city_counts)
    plain = pd.DataFrame(city_counts.drop(columns="geometry"))
    out = hs.gistar(plain, weights=w, permutations=0)
    np.testing.assert_allclose(out["gistar"], hs.gistar(city_counts, permutations=0)["gistar"])


# --------------------------------------------------------------------------------------------
# acceptance: the real city centre
# --------------------------------------------------------------------------------------------

CENTRE = (457_200, 339_900)  # Old Market Square, Nottingham (BNG)


def test_city_centre_violence_is_a_99pct_hotspot(city_counts):
    top = city_counts.nlargest(4, "n")
    # they are the city centre: within 1.5 km of Old Market Square
    cent = top.to_crs(27700).geometry.centroid
    assert (np.hypot(cent.x - CENTRE[0], cent.y - CENTRE[1]) < 1500).all()
    strong = ("hot spot (99.9%)", "hot spot (99%)")
    # analytical (as sfhotspot and ArcGIS), Benjamini-Hochberg
    analytical = hs.gistar(city_counts, permutations=0)
    assert analytical.loc[top.index, "hotspot"].isin(strong).all()
    assert analytical.loc[top.index, "hotspot"].eq("hot spot (99.9%)").all()
    # permutation inference with enough permutations to resolve p < 0.01 after FDR
    perm = hs.gistar(city_counts, permutations=9999)  # conditional, as esda
    assert perm.loc[top.index, "hotspot"].str.startswith("hot spot").all()
    assert perm.loc[top.index, "hotspot"].isin(strong).sum() >= 3
    # total randomisation also tests the unit's own count: all four at 99%
    total = hs.gistar(city_counts, permutations=9999, randomisation="total")
    assert total.loc[top.index, "hotspot"].isin(strong).all()
    assert total.attrs["sna"]["gistar"]["randomisation"] == "total"
    # the defaults (999 permutations, FDR) find them too, and say why 99% is out of reach
    default = hs.gistar(city_counts)
    assert default.loc[top.index, "hotspot"].str.startswith("hot spot").all()
    assert "resolution_warning" in default.attrs["sna"]["gistar"]
    # no cold spot among the top and no hotspot in an LSOA with below-median violence
    assert (
        not default.loc[default["n"] < default["n"].median(), "hotspot"].str.startswith("hot").any()
    )


def test_city_centre_is_a_high_high_cluster(city_counts):
    lm = hs.local_moran(city_counts, permutations=9999)
    top = city_counts.nlargest(4, "n")
    assert lm.loc[top.index, "cluster"].eq("HH").all()


# --------------------------------------------------------------------------------------------
# local Moran
# --------------------------------------------------------------------------------------------


def test_local_moran_equals_esda(city_counts):
    import esda

    out = hs.local_moran(city_counts, permutations=0, correction=None)
    w, _ = hs.neighbours(city_counts)
    x = city_counts["n"].to_numpy(dtype=float)
    ref = esda.Moran_Local(x, esda_w(w), transformation="r", permutations=0)
    np.testing.assert_allclose(out["lisa_i"], ref.Is, atol=1e-9)
    quad = pd.Series(ref.q).map({1: "HH", 2: "LH", 3: "LL", 4: "HL"})
    assert (out["quadrant"].to_numpy() == quad.to_numpy()).all()
    z = (ref.Is - ref.EIc) / np.sqrt(ref.VIc)
    np.testing.assert_allclose(out["pvalue"], 2 * stats.norm.sf(np.abs(z)), atol=1e-12)


def test_local_moran_cluster_only_where_significant(city_counts):
    out = hs.local_moran(city_counts, permutations=499, alpha=0.05)
    sig = out["pvalue_adj"] <= 0.05
    assert (out.loc[sig, "cluster"] == out.loc[sig, "quadrant"]).all()
    assert (out.loc[~sig, "cluster"] == "not significant").all()
    assert set(out["quadrant"]) <= {"HH", "LH", "LL", "HL"}
    assert set(out["cluster"]) <= set(hs.CLUSTER_LABELS)
    assert out.attrs["sna"]["local_moran"]["alpha"] == 0.05
    assert out.attrs["sna"]["local_moran"]["weights"]["style"].startswith("row-standardised")


def test_local_moran_permutation_direction():
    # a high outlier amid low neighbours is HL; its I is negative and significant with enough data
    x = np.zeros(100) + 1.0
    x[np.arange(100).reshape(10, 10)[1:4, 1:4].ravel()] = 30
    out = hs.local_moran(lattice(x, 10), permutations=999, correction=None)
    centre = np.arange(100).reshape(10, 10)[2, 2]
    assert out["quadrant"].iloc[centre] == "HH" and out["pvalue"].iloc[centre] == pytest.approx(
        0.002
    )
    far = np.arange(100).reshape(10, 10)[8, 8]
    assert out["quadrant"].iloc[far] == "LL"


def test_local_moran_errors(city_counts):
    with pytest.raises(AnalysisInputError, match="alpha"):
        hs.local_moran(city_counts, alpha=5)
    with pytest.raises(AnalysisInputError, match="all values"):
        hs.local_moran(city_counts.assign(n=0))


# --------------------------------------------------------------------------------------------
# change and classify
# --------------------------------------------------------------------------------------------


def test_change_on_counts_and_on_events():
    b = pd.DataFrame({"n": [4, 0, 2]}, index=["A", "B", "C"])
    a = pd.DataFrame({"n": [2, 3, 2]}, index=["C", "A", "B"]).loc[["B", "C", "A"]]
    a.index = ["A", "B", "C"]
    out = hs.change(b, a)
    assert out["change"].tolist() == (a["n"] - b["n"]).tolist()
    ev_b = pd.DataFrame({"x": [50, 60, 150], "y": [50, 50, 50]})
    ev_a = pd.DataFrame({"x": [150, 160, 170], "y": [50, 50, 50]})
    out2 = hs.change(ev_b, ev_a, areas=two_areas())
    assert out2[["n_before", "n_after", "change"]].values.tolist() == [[2, 0, -2], [1, 3, 2]]
    assert out2["pct_change"].tolist() == [-100.0, 200.0]
    out3 = hs.change(ev_b, ev_a)  # a shared automatic grid
    assert out3["n_before"].sum() == 3 and out3["n_after"].sum() == 3
    with pytest.raises(AnalysisInputError, match="different areas"):
        hs.change(b, pd.DataFrame({"n": [1]}, index=["Z"]))
    with pytest.raises(AnalysisInputError, match="empty"):
        hs.change(b.iloc[:0], a)


PANEL_SIDE = 20
HOT, BACKGROUND, COLD = 30, 10, 0


def panel_areas() -> gpd.GeoDataFrame:
    n = PANEL_SIDE * PANEL_SIDE
    cells = [
        box(i % PANEL_SIDE, i // PANEL_SIDE, i % PANEL_SIDE + 1, i // PANEL_SIDE + 1)
        for i in range(n)
    ]
    return gpd.GeoDataFrame({"lsoa": [f"L{i:03d}" for i in range(n)]}, geometry=cells, crs=27700)


def block(r, c):
    """The 3 x 3 block of cells centred on row r, column c (its centre first)."""
    idx = np.arange(PANEL_SIDE * PANEL_SIDE).reshape(PANEL_SIDE, PANEL_SIDE)
    centre = idx[r, c]
    return [centre] + [i for i in idx[r - 1 : r + 2, c - 1 : c + 2].ravel() if i != centre]


# each pattern: (block centre, kind, periods in which the block is hot / cold), 10 periods,
# of which the last 2 are "recent" (floor(0.2 x 10)); blocks are 5 cells apart
PATTERNS = {
    "persistent hot spot": ((2, 2), "hot", range(10)),
    "emerging hot spot": ((2, 7), "hot", [8, 9]),
    "former hot spot": ((2, 12), "hot", [0, 1, 2]),
    "intermittent hot spot": ((2, 17), "hot", [3, 9]),
    "persistent cold spot": ((7, 2), "cold", [0, 1, 2, 3, 4, 5, 6, 8]),  # 8 of 10 = 0.8
    "emerging cold spot": ((7, 7), "cold", [9]),
    "former cold spot": ((7, 12), "cold", [1, 4]),
    "intermittent cold spot": ((7, 17), "cold", [0, 8]),
}
MIXED = ((12, 2), [0, 1], [8, 9])  # hot early, cold late
QUIET = (17, 10)  # far from every block


def panel_events(patterns=PATTERNS, mixed=MIXED) -> pd.DataFrame:
    rows = []
    for p in range(10):
        x = np.full(PANEL_SIDE * PANEL_SIDE, BACKGROUND)
        for (r, c), kind, periods in patterns.values():
            if p in periods:
                x[block(r, c)] = HOT if kind == "hot" else COLD
        if mixed is not None:
            (r, c), hot, cold = mixed
            if p in hot:
                x[block(r, c)] = HOT
            if p in cold:
                x[block(r, c)] = COLD
        month = pd.Timestamp("2019-04-01") + pd.DateOffset(months=p)
        rows.append(
            pd.DataFrame(
                {"lsoa": np.repeat([f"L{i:03d}" for i in range(len(x))], x), "month": month}
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_classify_pins_every_category():
    out = hs.classify(panel_events(), time="month", period="1 month", areas=panel_areas())
    for label, ((r, c), _, _) in PATTERNS.items():
        assert out["hotspot_category"].iloc[block(r, c)[0]] == label, label
    (r, c), _, _ = MIXED
    assert out["hotspot_category"].iloc[block(r, c)[0]] == "mixed hot and cold spot"
    assert out["hotspot_category"].iloc[block(*QUIET)[0]] == "no pattern"
    assert set(out["hotspot_category"]) <= set(hs.CATEGORY_LABELS)
    meta = out.attrs["sna"]["classify"]
    assert meta["n_periods"] == 10 and meta["recent_periods"] == 2
    assert (
        meta["hotspot_prop"],
        meta["persistent_prop"],
        meta["recent_prop"],
        meta["critical_p"],
    ) == (0.1, 0.8, 0.2, 0.05)
    assert meta["correction"].startswith("holm")
    assert out["periods_hot"].iloc[block(2, 2)[0]] == 10
    assert out["periods_cold"].iloc[block(7, 2)[0]] == 8


@pytest.mark.parametrize(
    ("periods", "expected"),
    [
        ([0, 1, 2, 3, 4, 5, 9], "intermittent hot spot"),  # 7/10 < 0.8; older 6/8, recent 1/2
        ([0, 1, 2, 3, 4, 5, 8, 9], "persistent hot spot"),  # 8/10 = 0.8
        ([9], "emerging hot spot"),  # older 0/8 < 0.1, recent 1/2 >= 0.1
        ([0], "former hot spot"),  # older 1/8 >= 0.1, recent 0/2
        ([0, 9], "intermittent hot spot"),  # neither emerging nor former
        ([], "no pattern"),
    ],
)
def test_classify_boundaries_of_the_rules(periods, expected):
    events = panel_events({"x": ((2, 2), "hot", periods)}, mixed=None)
    out = hs.classify(events, time="month", period="1 month", areas=panel_areas())
    assert out["hotspot_category"].iloc[block(2, 2)[0]] == expected
    assert out["periods_hot"].iloc[block(2, 2)[0]] == len(periods)


def test_classify_periods_and_partial_period(violence, geography, caplog):
    ev = violence.assign(month=pd.to_datetime(violence["month"]))
    with caplog.at_level(logging.WARNING, logger="sna"):
        out = hs.classify(ev, time="month", period="2 months", areas=geography)
    meta = out.attrs["sna"]["classify"]
    assert [p["start"] for p in meta["periods"]] == ["2018-10-01", "2018-12-01", "2019-02-01"]
    assert meta["final_period_partial"] is True and "partly covered" in caplog.text
    collapsed = hs.classify(ev, time="month", period="2 months", areas=geography, collapse=True)
    cm = collapsed.attrs["sna"]["classify"]
    assert cm["n_periods"] == 2 and cm["periods"][-1]["end"] == "2019-02-28"
    assert cm["final_period_partial"] is False
    monthly = hs.classify(ev, time="month", period="1 month", areas=geography)
    mm = monthly.attrs["sna"]["classify"]
    assert mm["n_periods"] == 5 and mm["final_period_partial"] is False
    assert sum(p["events"] for p in mm["periods"]) == len(ev)
    # the city centre has been a hot spot every month
    top = geography.index[geography["lsoa"].isin(["E01033400", "E01033406"])]
    assert (monthly.loc[top, "hotspot_category"] == "persistent hot spot").all()


def test_classify_on_an_automatic_grid(violence):
    ev = violence.dropna(subset=["Longitude"]).assign(month=lambda d: pd.to_datetime(d["month"]))
    ev = ev[(ev["Longitude"].between(-1.25, -1.1)) & (ev["Latitude"].between(52.9, 53.0))]
    out = hs.classify(ev, time="month", period="1 month", cell_size=500)
    assert out.attrs["sna"]["classify"]["grid"]["cell_size"] == 500
    assert out["n"].sum() == len(ev)


def test_classify_errors():
    ev = panel_events()
    areas = panel_areas()
    with pytest.raises(AnalysisInputError, match="time column"):
        hs.classify(ev, time="date", areas=areas)
    with pytest.raises(AnalysisInputError, match="period"):
        hs.classify(ev, time="month", period="fortnight", areas=areas)
    with pytest.raises(AnalysisInputError, match="at least two periods"):
        hs.classify(ev, time="month", period="5 years", areas=areas)
    with pytest.raises(AnalysisInputError, match="hotspot_prop"):
        hs.classify(ev, time="month", areas=areas, hotspot_prop=1.5)
    with pytest.raises(AnalysisInputError, match="after the first date"):
        hs.classify(ev, time="month", areas=areas, start="2030-01-01")
    with pytest.raises(AnalysisInputError, match="empty"):
        hs.classify(ev.iloc[:0], time="month", areas=areas)


# --------------------------------------------------------------------------------------------
# concentration, overlap, deprivation
# --------------------------------------------------------------------------------------------


def test_concentration_known_values():
    c = hs.concentration(pd.Series([0, 0, 0, 1]))
    assert c.gini == pytest.approx(0.75)
    assert hs.concentration(pd.Series([5, 5, 5, 5])).gini == pytest.approx(0.0)
    c = hs.concentration(pd.DataFrame({"n": np.arange(1, 101)}))
    assert c.shares["n_areas"].tolist() == [1, 5, 10]
    assert c.shares["share"].tolist() == pytest.approx([100 / 5050, 490 / 5050, 955 / 5050])
    assert c.lorenz.iloc[0].tolist() == [0.0, 0.0] and c.lorenz.iloc[-1].tolist() == [1.0, 1.0]
    assert (np.diff(c.lorenz["event_share"]) >= 0).all()
    # Gini = 1 - 2 x area under the Lorenz curve (trapezoids)
    area = np.trapezoid(c.lorenz["event_share"], c.lorenz["area_share"])
    assert c.gini == pytest.approx(1 - 2 * area)
    row = c.to_frame()
    assert list(row.columns) == [
        "n_areas",
        "n_events",
        "share_top_1pct",
        "share_top_5pct",
        "share_top_10pct",
        "gini",
    ]


def test_concentration_real_city(city_counts):
    c = hs.concentration(city_counts)
    assert c.n_areas == 182 and c.n_events == city_counts["n"].sum()
    # the two city-centre LSOAs (1%) hold about 8% of the city's violence
    assert c.shares.loc[0, "n_areas"] == 2
    assert c.shares.loc[0, "share"] == pytest.approx(502 / city_counts["n"].sum())
    assert 0.3 < c.gini < 0.6


def test_concentration_errors():
    with pytest.raises(AnalysisInputError, match="no events"):
        hs.concentration(pd.Series([0, 0]))
    with pytest.raises(AnalysisInputError, match="non-negative"):
        hs.concentration(pd.Series([1, -1]))
    with pytest.raises(AnalysisInputError, match="empty"):
        hs.concentration(pd.Series([], dtype=float))


def test_overlap_known_values():
    a = pd.Series([10, 8, 1, 0, 0], index=list("ABCDE"))
    b = pd.Series([9, 0, 7, 1, 0], index=list("ABCDE"))
    o = hs.overlap(a, b, top=0.4)
    assert o.top_a == ["A", "B"] and o.top_b == ["A", "C"] and o.both == ["A"]
    assert o.jaccard == pytest.approx(1 / 3)
    res = stats.spearmanr(a, b)
    assert o.spearman == pytest.approx(res.statistic) and o.spearman_pvalue == pytest.approx(
        res.pvalue
    )
    assert o.to_frame()["n_both"].item() == 1


def test_overlap_ties_missing_areas_and_lsoa_columns():
    a = pd.DataFrame({"lsoa": list("ABCD"), "n": [5, 5, 1, 0]})
    b = pd.DataFrame({"lsoa": list("ABE"), "n": [0, 2, 9]})
    o = hs.overlap(a, b, top=0.25)  # one area, but A and B tie: both kept
    assert o.top_a == ["A", "B"] and o.top_b == ["E"] and o.n_areas == 5
    assert o.jaccard == 0.0
    same = hs.overlap(a, a)
    assert same.jaccard == 1.0 and same.spearman == pytest.approx(1.0)
    with pytest.raises(AnalysisInputError, match="top"):
        hs.overlap(a, b, top=0)


def test_by_deprivation_byar_known_answer_and_rate_ratio():
    # worked example: O = 300, n = 250,000 per 100,000 -> 120.0 (106.80, 134.38); O = 7 exact
    geo = pd.DataFrame(
        {
            "lsoa": ["A", "B", "C"],
            "population": [250_000, 100_000, 750_000],
            "imd_decile": [1, 5, 10],
        }
    )
    ev = pd.DataFrame({"lsoa": ["A", "B", "C"], "n": [300, 7, 1050]})
    out = hs.by_deprivation(ev, geo, per=100_000)
    first = out.iloc[0]
    assert (round(first["rate"], 2), round(first["lowercl"], 2), round(first["uppercl"], 2)) == (
        120.0,
        106.80,
        134.38,
    )
    assert out.iloc[1]["lowercl"] == pytest.approx(2.8144 / 100_000 * 100_000, abs=1e-4)
    assert out.iloc[1]["uppercl"] == pytest.approx(14.4227, abs=1e-4)
    # worked example: 300 against 1,050 over three times the exposure -> RR 0.8571 (0.7514, 0.9754)
    rr = out.attrs["sna"]["by_deprivation"]["rate_ratio"]
    assert (round(rr["value"], 4), round(rr["lowercl"], 4), round(rr["uppercl"], 4)) == (
        0.8571,
        0.7514,
        0.9754,
    )
    assert rr["most_deprived"] == 1 and rr["least_deprived"] == 10
    # the reference decile: 1 by definition, no "interval" of its ratio with itself
    assert out["rate_ratio"].iloc[-1] == 1.0
    assert out[["rr_lowercl", "rr_uppercl"]].iloc[-1].isna().all()
    assert out[["rr_lowercl", "rr_uppercl"]].iloc[:-1].notna().all().all()
    # one LSOA per decile: no dispersion to estimate, the Poisson intervals stand
    od = out.attrs["sna"]["by_deprivation"]["overdispersion"]
    assert od["df"] == 0 and not od["applied"]


def test_by_deprivation_real_city(city_counts, geography):
    imd = pd.read_csv(
        SAMPLE / "imd" / "File_1_-_IMD2019_Index_of_Multiple_Deprivation.csv", encoding="utf-8-sig"
    )
    pop = pd.read_csv(
        SAMPLE / "population" / "population19_lsoa11.csv",
        usecols=["lsoa11_code", "total_population"],
    )
    geo = geography.merge(
        imd.rename(
            columns={
                "LSOA code (2011)": "lsoa",
                "Index of Multiple Deprivation (IMD) Decile": "imd_decile",
            }
        )[["lsoa", "imd_decile"]],
        on="lsoa",
    ).merge(
        pop.rename(columns={"lsoa11_code": "lsoa", "total_population": "population"}), on="lsoa"
    )
    out = hs.by_deprivation(city_counts, geo)
    assert out["n"].sum() == city_counts["n"].sum()
    assert out["population"].sum() == geo["population"].sum()
    assert (out["lowercl"] <= out["rate"]).all() and (out["rate"] <= out["uppercl"]).all()
    q = hs.by_deprivation(city_counts, geo, quintiles=True)
    assert list(q.columns[:1]) == ["imd_quintile"] and q["n"].sum() == out["n"].sum()
    # Nottingham is deprived: violence is far higher in its most deprived areas
    assert q.attrs["sna"]["by_deprivation"]["rate_ratio"]["value"] > 1
    # the LSOAs of a decile vary far more than Poisson: phi as statsmodels' quasi-Poisson
    import statsmodels.api as sm

    od = out.attrs["sna"]["by_deprivation"]["overdispersion"]
    lsoa = geo.merge(pd.DataFrame(city_counts[["lsoa", "n"]]), on="lsoa")
    X = pd.get_dummies(lsoa["imd_decile"].astype(int), dtype=float).to_numpy()
    fit = sm.GLM(lsoa["n"].to_numpy(float), X, family=sm.families.Poisson(),
                 offset=np.log(lsoa["population"].to_numpy(float))).fit(scale="X2")
    assert od["applied"] and od["phi"] == pytest.approx(fit.scale, rel=1e-9)
    assert od["df"] == len(lsoa) - X.shape[1]
    plain = hs.by_deprivation(city_counts, geo, overdispersion=False)
    assert_allclose(plain["rate"], out["rate"])
    wide = (out["uppercl"] - out["lowercl"]) / (plain["uppercl"] - plain["lowercl"])
    assert (wide > 1).all()
    # about sqrt(phi) wider where the effective count O/phi is large enough for that
    big = (out["n"] / od["phi"] > 30).to_numpy()
    assert big.sum() >= 3
    assert_allclose(wide[big], np.sqrt(od["phi"]), rtol=0.1)
    # and close to the quasi-Poisson GLM's own (Wald, log scale) interval there
    lo, hi = np.exp(fit.conf_int()).T
    assert_allclose(out["rate"], np.exp(fit.params) * 1000, rtol=1e-6)
    assert_allclose(out.loc[big, "lowercl"], lo[big] * 1000, rtol=0.05)
    assert_allclose(out.loc[big, "uppercl"], hi[big] * 1000, rtol=0.05)


def test_by_deprivation_errors():
    geo = pd.DataFrame({"lsoa": ["A"], "population": [100], "imd_decile": [1]})
    with pytest.raises(AnalysisInputError, match="not in the geography"):
        hs.by_deprivation(pd.DataFrame({"lsoa": ["Z"], "n": [3]}), geo)
    with pytest.raises(AnalysisInputError, match="imd_decile"):
        hs.by_deprivation(pd.DataFrame({"lsoa": ["A"], "n": [3]}), geo.drop(columns="imd_decile"))
    with pytest.raises(AnalysisInputError, match="1..10"):
        hs.by_deprivation(pd.DataFrame({"lsoa": ["A"], "n": [3]}), geo.assign(imd_decile=11))


def test_gistar_conditional_permutations_agree_with_esda(city_counts):
    """The default permutation inference is esda's conditional randomisation: on the real
    Nottingham LSOAs the pseudo p-values agree with esda G_Local(star=True)'s p_sim within
    Monte Carlo error (different seeds and engines); total randomisation does not."""
    import esda

    x = city_counts["n"].to_numpy(dtype=float)
    w, _ = hs.neighbours(city_counts, "queen")
    perms = 9999
    ref = esda.G_Local(x, esda_w(w), transform="B", star=True, permutations=perms, seed=7)
    ours = hs.gistar(city_counts, permutations=perms, correction=None)
    assert ours.attrs["sna"]["gistar"]["randomisation"] == "conditional"
    one_sided = ours["pvalue"].to_numpy() / 2  # esda's p_sim is the smaller tail
    p = np.clip(ref.p_sim, 1 / (perms + 1), 0.5)
    mc = np.sqrt(2 * p * (1 - p) / perms)  # s.e. of the difference of two estimates
    tie = 0.02  # counts tie: esda counts sims >= obs in one tail, sims <= obs in the other
    assert (np.abs(one_sided - ref.p_sim) <= 5 * mc + tie).all()
    assert np.abs(one_sided - ref.p_sim).max() < 0.05
    total = hs.gistar(city_counts, permutations=perms, correction=None, randomisation="total")
    assert np.abs(total["pvalue"].to_numpy() / 2 - ref.p_sim).max() > 0.1
    with pytest.raises(AnalysisInputError, match="randomisation"):
        hs.gistar(city_counts, randomisation="partial")
