"""Tests of sna.maps: every map renders offline from the real Nottingham sample, legends count
areas, classes are seeded, outlines close the slivers of generalised boundaries, the
attribution is on every map, GeoPackage round trip, and the failure modes."""

from __future__ import annotations

import glob
import importlib.util
import logging
import warnings
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import geopandas as gpd
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pyogrio
import pytest

from sna import hotspot as hs
from sna import maps
from sna.errors import AnalysisInputError, SnaError
from sna.maps._frame import dissolve
from sna.plot import style

SAMPLE = Path(__file__).resolve().parents[1] / "sna" / "datasets" / "nottingham-sample"


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def geography() -> gpd.GeoDataFrame:
    g = gpd.read_file(SAMPLE / "boundaries" / "E06000018.json").to_crs(27700)
    g = g.rename(columns={"LSOA11CD": "lsoa", "LSOA11NM": "name"})
    g["district"] = "Nottingham"
    # two made-up halves, to test outlines with more than one area
    g["half"] = np.where(g.geometry.centroid.y > g.geometry.centroid.y.median(), "North", "South")
    return g


@pytest.fixture(scope="module")
def counts(geography) -> gpd.GeoDataFrame:
    files = sorted(glob.glob(str(SAMPLE / "police" / "*" / "*.csv")))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    v = df[df["Crime type"] == "Violence and sexual offences"].rename(columns={"LSOA code": "lsoa"})
    return hs.count(v, areas=geography)


def texts(fig) -> list[str]:
    return [t.get_text() for t in fig.findobj(matplotlib.text.Text)]


def legend_texts(fig, i: int = 0) -> list[str]:
    # the map's legend, or the legend axes' beside zoom panels, or the figure's
    legs = [ax.get_legend() for ax in fig.axes[i:] if ax.get_legend()] + list(fig.legends)
    leg = legs[0]
    return [t.get_text() for t in leg.get_texts()]


def assert_furniture(fig):
    """Scale bar, north arrow, attribution."""
    all_text = " ".join(texts(fig))
    assert maps.ATTRIBUTION in all_text
    assert "Open Government Licence v3.0" in all_text and "Crown copyright" in all_text
    assert "N" in texts(fig)
    assert any(t.endswith((" km", " m")) for t in texts(fig))


# --------------------------------------------------------------------------------------------
# choropleth
# --------------------------------------------------------------------------------------------


def test_choropleth_quantiles_on_real_counts(counts, tmp_path):
    fig = maps.choropleth(
        counts, "n", title="Violence", legend_title="Offences", source="data.police.uk"
    )
    assert isinstance(fig, matplotlib.figure.Figure)
    assert fig.axes[0].get_title(loc="left") == "Violence"
    labels = legend_texts(fig)
    assert len(labels) == 5
    # every class shows its range and its number of areas; they add up to 182
    assert sum(int(lab.rsplit("(", 1)[1].rstrip(")")) for lab in labels) == 182
    assert labels[0].startswith(f"{counts['n'].min()} to ")
    assert labels[-1].split(" (")[0].endswith(f"to {counts['n'].max()}")
    assert "Source: data.police.uk." in " ".join(texts(fig))
    assert_furniture(fig)
    out = tmp_path / "choropleth.png"
    fig.savefig(out)
    assert out.stat().st_size > 20_000


def test_choropleth_schemes_and_seed(counts):
    state = np.random.get_state()
    a = legend_texts(maps.choropleth(counts, "n", scheme="natural_breaks", seed=1))
    b = legend_texts(maps.choropleth(counts, "n", scheme="natural_breaks", seed=1))
    assert a == b
    # the global random state is left as it was
    assert np.array_equal(np.random.get_state()[1], state[1])
    fj = legend_texts(maps.choropleth(counts, "n", scheme="fisher_jenks", k=4))
    assert len(fj) == 4
    user = legend_texts(maps.choropleth(counts, "n", scheme="user", bins=[10, 50, 100]))
    assert [t.split(" (")[0] for t in user] == [
        f"{counts['n'].min()} to 10",
        "11 to 50",
        "51 to 100",
        f"101 to {counts['n'].max()}",
    ]
    eq = legend_texts(maps.choropleth(counts, "n", scheme="equal_interval", k=3))
    assert len(eq) == 3


def _inputs_for_bounds():
    rng = np.random.default_rng(7)
    yield rng.normal(size=500)  # rates: floats, negative too
    yield rng.poisson(3, size=400).astype(float)  # counts with many ties
    yield rng.lognormal(1, 1.2, size=33)  # skewed, a size not divisible by k
    yield np.r_[np.zeros(300), rng.integers(1, 40, size=34)].astype(float)  # mostly zero
    yield np.array([0.1, 0.2, 0.3])
    yield np.arange(1000, dtype=float)  # mapclassify's own doctest: 249.75, 499.5 ...
    yield rng.uniform(-1e6, 1e6, size=1001)
    yield np.array([5.0, 5.0, 5.0, 7.0])


@pytest.mark.parametrize("k", [2, 3, 4, 5, 7, 9])
def test_quantile_and_equal_interval_bins_are_mapclassifys(k):
    """The quantiles and equal intervals computed without importing mapclassify (its import
    compiles a numba function: ~2 s) are mapclassify's own, bit for bit."""
    import mapclassify

    from sna.maps.classified import _equal_interval_bins, _quantile_bins

    for i, y in enumerate(_inputs_for_bounds()):
        kk = min(k, len(np.unique(y)))
        if kk < 2:
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            want_q = mapclassify.Quantiles(y, k=kk).bins
            want_e = mapclassify.EqualInterval(y, k=kk).bins
        got_q, got_e = _quantile_bins(y, kk), _equal_interval_bins(y, kk)
        assert got_q.tobytes() == np.asarray(want_q, dtype=float).tobytes(), (i, kk)
        assert got_e.tobytes() == np.asarray(want_e, dtype=float).tobytes(), (i, kk)
    assert _quantile_bins(np.arange(1000, dtype=float), 4).tolist() == [249.75, 499.5, 749.25, 999.0]


def test_quantile_maps_do_not_import_mapclassify(counts):
    import subprocess
    import sys

    code = ("import sys, numpy as np; from sna.maps.classified import class_bounds; "
            "b = class_bounds(np.arange(50.0), 'quantiles', 5, None, 0); "
            "e = class_bounds(np.arange(50.0), 'equal_interval', 5, None, 0); "
            "print(b.tolist(), e.tolist(), 'mapclassify' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split()[-1] == "False", out.stdout
    assert "[9.0, 19.0, 29.0, 39.0, 49.0]" in out.stdout


def test_choropleth_rates_and_missing_values(counts):
    data = counts.assign(rate=np.where(counts.index % 10 == 0, np.nan, counts["n"] / 1.7))
    labels = legend_texts(maps.choropleth(data, "rate", decimals=1))
    assert labels[-1].startswith("No data (") and labels[-1].endswith(
        f"({int(data['rate'].isna().sum())})"
    )
    assert labels[1].startswith("over ")


def test_choropleth_reprojects_lon_lat(counts, caplog):
    with caplog.at_level(logging.INFO, logger="sna"):
        fig = maps.choropleth(counts.to_crs(4326), "n")
    assert "reprojected" in caplog.text
    x0, x1 = fig.axes[0].get_xlim()
    assert x0 > 400_000 and x1 < 500_000  # drawn in metres (British National Grid)


def test_choropleth_errors(counts):
    with pytest.raises(AnalysisInputError, match="no geometry"):
        maps.choropleth(pd.DataFrame(counts.drop(columns="geometry")), "n")
    with pytest.raises(AnalysisInputError, match="no column"):
        maps.choropleth(counts, "count")
    with pytest.raises(AnalysisInputError, match="unknown scheme"):
        maps.choropleth(counts, "n", scheme="jenks")
    with pytest.raises(AnalysisInputError, match="bins="):
        maps.choropleth(counts, "n", scheme="user")
    with pytest.raises(AnalysisInputError, match="empty"):
        maps.choropleth(counts.iloc[:0], "n")
    with pytest.raises(AnalysisInputError, match="outlines"):
        maps.choropleth(counts, "n", outlines="partnership")


# --------------------------------------------------------------------------------------------
# outlines
# --------------------------------------------------------------------------------------------


def test_outlines_close_the_slivers_of_generalised_boundaries(geography):
    # a plain union of the real LSOAs keeps hundreds of sliver holes; the map's dissolve not
    plain = geography.dissolve("district").geometry.iloc[0]
    holes = sum(len(p.interiors) for p in getattr(plain, "geoms", [plain]))
    assert holes > 20
    clean = dissolve(geography, "district").geometry.iloc[0]
    assert clean.geom_type == "Polygon" and len(clean.interiors) == 0
    assert clean.area == pytest.approx(plain.area, rel=0.001)


@pytest.mark.parametrize("kind", ["column", "pair", "frame"])
def test_outlines_and_labels(counts, geography, kind):
    outlines = {
        "column": "half",
        "pair": (geography, "half"),
        "frame": dissolve(geography, "half").rename(columns={"half": "name"}),
    }[kind]
    fig = maps.choropleth(counts.assign(half=geography["half"]), "n", outlines=outlines)
    assert {"North", "South"} <= set(texts(fig))
    fig2 = maps.choropleth(
        counts.assign(half=geography["half"]), "n", outlines=outlines, outline_labels=False
    )
    assert "North" not in texts(fig2)


# --------------------------------------------------------------------------------------------
# class maps
# --------------------------------------------------------------------------------------------


def test_hotspot_map_on_real_gistar(counts, tmp_path):
    g = hs.gistar(counts, permutations=0)
    fig = maps.hotspot_map(g, title="Gi*", outlines="district", source="data.police.uk")
    labels = legend_texts(fig)
    assert labels[0].startswith("Hot spot 99.9% (")
    assert labels[-1] == f"Not significant ({(g['hotspot'] == 'not significant').sum()})"
    assert_furniture(fig)
    # the hot spots are drawn in the hot colour
    faces = fig.axes[0].collections[0].get_facecolors()
    hot = matplotlib.colors.to_rgba(maps.HOTSPOT_COLOURS["hot spot (99.9%)"])
    assert sum(np.allclose(f, hot) for f in faces) == (g["hotspot"] == "hot spot (99.9%)").sum()
    all_classes = legend_texts(maps.hotspot_map(g, all_classes=True))
    assert len(all_classes) == 7
    fig.savefig(tmp_path / "hot.png")


def test_class_maps_reject_unknown_labels(counts):
    with pytest.raises(AnalysisInputError, match="does not know"):
        maps.hotspot_map(counts.assign(hotspot="very hot"))
    with pytest.raises(AnalysisInputError, match="no column"):
        maps.lisa_map(counts)


def test_lisa_map(counts):
    lm = hs.local_moran(counts, permutations=999)
    labels = legend_texts(maps.lisa_map(lm))
    assert labels[0].startswith("High-High: cluster of high values (")
    quads = legend_texts(maps.lisa_map(lm, column="quadrant"))
    assert len(quads) == 4 and "Not significant" not in " ".join(quads)


def test_persistence_map(counts, geography):
    files = sorted(glob.glob(str(SAMPLE / "police" / "*" / "*.csv")))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    v = df[df["Crime type"] == "Violence and sexual offences"].rename(columns={"LSOA code": "lsoa"})
    v = v.assign(month=pd.to_datetime(v["Month"]))
    cl = hs.classify(v, time="month", period="1 month", areas=geography)
    fig = maps.persistence_map(cl, title="Persistence")
    labels = legend_texts(fig)
    assert labels[0].startswith("Persistent hot spot (")
    assert any(t.startswith("No pattern (") for t in labels)


def test_kde_map(geography):
    files = sorted(glob.glob(str(SAMPLE / "police" / "*" / "*.csv")))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    v = df[
        (df["Crime type"] == "Violence and sexual offences")
        & df["LSOA code"].isin(geography["lsoa"])
    ]
    k = hs.kde(v[["Longitude", "Latitude"]], grid=hs.grid(geography, cell_size=250))
    fig = maps.kde_map(k, outlines=(geography, "district"), title="Density")
    assert len(fig.axes) == 2 and fig.axes[1].get_ylabel() == "Events per km²"
    # one outline is the whole area: outlined, not labelled over the middle of the map
    assert "Nottingham" not in texts(fig)
    halves = maps.kde_map(k, outlines=(geography, "half"))
    assert {"North", "South"} <= set(texts(halves))
    assert_furniture(fig)
    partial = maps.kde_map(k, hide_below=0.05)
    assert len(partial.axes) == 2
    with pytest.raises(AnalysisInputError, match="no positive density"):
        maps.kde_map(k.assign(kde=0.0))


# --------------------------------------------------------------------------------------------
# small multiples
# --------------------------------------------------------------------------------------------


def test_small_multiples_share_one_legend(geography):
    files = sorted(glob.glob(str(SAMPLE / "police" / "*" / "*.csv")))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    v = df[df["Crime type"] == "Violence and sexual offences"].rename(columns={"LSOA code": "lsoa"})
    per = {m: hs.count(sub, areas=geography) for m, sub in v.groupby("Month")}
    fig = maps.small_multiples(per, "n", title="By month", source="data.police.uk")
    titles = [ax.get_title(loc="left") for ax in fig.axes if ax.get_title(loc="left")]
    assert titles == ["2018-10", "2018-11", "2018-12", "2019-01", "2019-02"]
    assert len(fig.legends) == 1 and len(legend_texts(fig)) == 5
    assert maps.ATTRIBUTION in " ".join(texts(fig))
    # long form, and class maps detected from the labels
    long = pd.concat([hs.gistar(c, permutations=0).assign(month=m) for m, c in per.items()])
    long = gpd.GeoDataFrame(long, geometry="geometry", crs=27700)
    hot = maps.small_multiples(long, "hotspot", by="month", ncols=2)
    assert fig.legends[0].get_title().get_text() == "n"
    assert hot.legends[0].get_title().get_text() == "Getis-Ord Gi*"
    assert legend_texts(hot)[0] == "Hot spot 99.9%"
    with pytest.raises(AnalysisInputError, match="period column"):
        maps.small_multiples(long, "hotspot", by="year")
    with pytest.raises(AnalysisInputError, match="no panels"):
        maps.small_multiples({}, "n")


# --------------------------------------------------------------------------------------------
# basemap, explore, GeoPackage
# --------------------------------------------------------------------------------------------


@pytest.mark.skipif(
    importlib.util.find_spec("contextily") is not None, reason="contextily installed"
)
def test_basemap_is_optional_and_offline(counts, caplog):
    with caplog.at_level(logging.WARNING, logger="sna"):
        fig = maps.choropleth(counts, "n", basemap=True)
    assert "contextily is not installed" in caplog.text
    assert isinstance(fig, matplotlib.figure.Figure)


@pytest.mark.skipif(importlib.util.find_spec("folium") is not None, reason="folium installed")
def test_explore_without_folium_says_what_to_install(counts):
    with pytest.raises(maps.MissingDependencyError, match="pip install folium") as err:
        maps.explore(counts, "n")
    assert isinstance(err.value, SnaError) and isinstance(err.value, ImportError)


@pytest.mark.skipif(importlib.util.find_spec("folium") is None, reason="folium not installed")
def test_explore_with_folium(counts):  # pragma: no cover - optional dependency
    m = maps.explore(hs.gistar(counts, permutations=0), "hotspot", tiles=None)
    assert type(m).__name__ == "Map"


def test_to_geopackage_round_trip(counts, tmp_path):
    g = hs.gistar(counts, permutations=0)
    lm = hs.local_moran(counts, permutations=0)
    grid = hs.grid(counts, cell_size=500)
    layers = {
        "counts": counts,
        "gistar": g.assign(hotspot=pd.Categorical(g["hotspot"])),
        "lisa": lm,
        "grid": grid,
    }
    path = maps.to_geopackage(layers, tmp_path / "out" / "maps")
    assert path.name == "maps.gpkg" and path.exists()
    assert sorted(name for name, _ in pyogrio.list_layers(path)) == [
        "counts",
        "gistar",
        "grid",
        "lisa",
    ]
    back = gpd.read_file(path, layer="gistar")
    assert back.crs.to_epsg() == 27700 and len(back) == 182
    assert back["hotspot"].tolist() == g["hotspot"].tolist()
    assert np.allclose(back["gistar"], g["gistar"])
    # written again: replaced, not appended
    maps.to_geopackage({"counts": counts}, path)
    assert [name for name, _ in pyogrio.list_layers(path)] == ["counts"]
    assert len(gpd.read_file(path, layer="counts")) == 182


def test_to_geopackage_errors(counts, tmp_path):
    with pytest.raises(AnalysisInputError, match="no layers"):
        maps.to_geopackage({}, tmp_path / "x.gpkg")
    with pytest.raises(AnalysisInputError, match="layer name"):
        maps.to_geopackage({"bad name!": counts}, tmp_path / "x.gpkg")
    with pytest.raises(AnalysisInputError, match="not a GeoDataFrame"):
        maps.to_geopackage({"table": pd.DataFrame({"a": [1]})}, tmp_path / "x.gpkg")


def test_maps_do_not_mutate_inputs(counts):
    before = counts.copy()
    maps.choropleth(counts, "n", outlines="district")
    maps.hotspot_map(hs.gistar(counts, permutations=0))
    pd.testing.assert_frame_equal(counts, before)


# --------------------------------------------------------------------------------------------
# zoom panels, labels, scale bar
# --------------------------------------------------------------------------------------------


def _insets(fig):
    return [ax for ax in fig.axes if getattr(ax, "_sna_inset", None)]


def test_gistar_and_lisa_maps_zoom_on_the_hot_areas_of_the_real_sample(counts):
    gi = hs.gistar(counts, permutations=9999, seed=1)
    hot = gi["hotspot"].astype(str).str.startswith("hot")
    assert 0 < hot.mean() < maps.INSET_SHARE  # the city-centre hot spots of the real data
    fig = maps.hotspot_map(gi, outlines="district")
    panels = _insets(fig)
    assert len(panels) >= 1 and fig._sna_map["insets"][0]["letter"] == "A"
    assert fig._sna_map["focus_areas"] == int(hot.sum())
    assert sum(d["areas"] for d in fig._sna_map["insets"]) == int(hot.sum())
    # the panel shows every hot spot of its group, zoomed: a smaller extent than the map's
    main = [ax for ax in fig.axes if ax not in panels and ax.has_data()][0]
    px0, px1 = panels[0].get_xlim()
    mx0, mx1 = main.get_xlim()
    assert (px1 - px0) < 0.6 * (mx1 - mx0)
    hx0, hy0, hx1, hy1 = gi[hot].total_bounds
    py0, py1 = panels[0].get_ylim()
    assert px0 <= hx0 and hx1 <= px1 and py0 <= hy0 and hy1 <= py1
    # its frame is drawn on the main map, with its letter
    frames = [p for p in main.patches if p.get_facecolor()[3] == 0]
    assert any(np.isclose(p.get_x(), px0) and np.isclose(p.get_width(), px1 - px0) for p in frames)
    assert "A" in [t.get_text() for t in main.texts]
    lm = hs.local_moran(counts, permutations=999, seed=1)
    assert len(_insets(maps.lisa_map(lm))) >= 1


def test_no_zoom_panel_when_the_hot_areas_are_not_few(counts):
    gi = hs.gistar(counts, permutations=0)
    many = gi.assign(hotspot=np.where(np.arange(len(gi)) % 5 == 0, "hot spot (95%)",
                                      "not significant"))
    fig = maps.hotspot_map(many)
    assert _insets(fig) == [] and fig._sna_map["focus_share"] >= maps.INSET_SHARE
    none = gi.assign(hotspot="not significant")
    assert _insets(maps.hotspot_map(none)) == []
    # forced on or off
    assert len(_insets(maps.hotspot_map(many, inset=True))) >= 1
    few = gi.assign(hotspot=np.where(np.arange(len(gi)) == 3, "hot spot (99%)", "not significant"))
    assert len(_insets(maps.hotspot_map(few))) == 1
    assert _insets(maps.hotspot_map(few, inset=False)) == []
    # into a given ax there is no room for a panel
    f, ax = plt.subplots()
    maps.hotspot_map(few, ax=ax)
    assert _insets(f) == []


def test_two_separate_groups_get_two_panels(counts):
    gi = hs.gistar(counts, permutations=0)
    c = gi.geometry.centroid
    west, east = int(np.argmin(c.x.to_numpy())), int(np.argmax(c.x.to_numpy()))
    labels = np.full(len(gi), "not significant", dtype=object)
    labels[[west, east]] = "hot spot (95%)"
    fig = maps.hotspot_map(gi.assign(hotspot=labels))
    assert [d["letter"] for d in fig._sna_map["insets"]] == ["A", "B"]


def _boxes(fig, artists):
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    return [a.get_window_extent(r) for a in artists]


def test_district_labels_never_overlap(geography, counts):
    # eight made-up districts: a 4 x 2 split of the city, labels long enough to collide
    c = geography.geometry.centroid
    qx = pd.qcut(c.x, 4, labels=False)
    qy = pd.qcut(c.y, 2, labels=False)
    names = ["Newcastle upon Tyne", "North Tyneside", "South Tyneside", "Gateshead",
             "Sunderland", "Northumberland", "County Durham", "Hartlepool"]
    g = counts.assign(district=[names[int(a) * 2 + int(b)] for a, b in zip(qx, qy)])
    fig = maps.choropleth(g, "n", outlines="district")
    ax = fig.axes[0]
    labels = [t for t in ax._sna_labels if t.get_visible()]
    assert len(labels) == 8
    boxes = _boxes(fig, labels)
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(8) for j in range(i + 1, 8))


def test_scale_bar_text_sits_clear_of_its_bar(counts):
    from mpl_toolkits.axes_grid1.anchored_artists import AnchoredSizeBar

    for shape in ("tall", "wide"):
        data = counts if shape == "tall" else counts.set_geometry(
            counts.geometry.scale(xfact=4, yfact=0.5, origin=(0, 0)))
        fig = maps.choropleth(data, "n")
        bar = [a for a in fig.axes[0].artists if isinstance(a, AnchoredSizeBar)][0]
        rect, text = bar.size_bar, bar.txt_label
        fig.canvas.draw()
        r = fig.canvas.get_renderer()
        assert not rect.get_window_extent(r).overlaps(text.get_window_extent(r))


def test_kde_map_reaches_the_boundary_of_the_area(geography):
    files = sorted(glob.glob(str(SAMPLE / "police" / "*" / "*.csv")))
    df = pd.concat([pd.read_csv(f) for f in files], ignore_index=True)
    v = df[(df["Crime type"] == "Violence and sexual offences")
           & df["LSOA code"].isin(geography["lsoa"])]
    k = hs.kde(v[["Longitude", "Latitude"]], grid=hs.grid(geography, cell_size=250))
    inside = hs.cells_within(k, geography)
    fig = maps.kde_map(inside, area=geography)
    ax = fig.axes[0]
    background, cells = ax.collections[0], ax.collections[1]
    # under the surface: the whole area, in the colour of zero density
    assert np.allclose(background.get_facecolor()[0],
                       matplotlib.colormaps[style.SEQUENTIAL_CMAP](0.0))
    ext = background.get_paths()[0].get_extents()
    gx0, gy0, gx1, gy1 = geography.total_bounds
    assert (ext.x0, ext.y0, ext.x1, ext.y1) == pytest.approx((gx0, gy0, gx1, gy1), abs=5)
    # the cells are clipped at the boundary
    assert cells.get_clip_path() is not None


@pytest.mark.slow
def test_the_demo_hot_spot_maps_zoom_on_the_significant_areas(demo_run):
    """Every chapter-4 map whose hot areas are fewer than 10% of the LSOAs has a zoom panel:
    the demo's Gi* and local-Moran maps among them."""
    import json

    side = json.loads((demo_run.output_dir / "chapters" / "04_geography.json").read_text())
    drawn = {f["name"]: f["map"] for f in side["figures"] if f.get("map")}
    assert {"gistar_map", "lisa_map"} <= set(drawn)
    for name, m in drawn.items():
        if 0 < m["focus_areas"] and m["focus_share"] < maps.INSET_SHARE:
            assert m["insets"], name
            assert sum(p["areas"] for p in m["insets"]) >= 1
    assert drawn["gistar_map"]["insets"] and drawn["lisa_map"]["insets"]


def _overflow_px(fig) -> float:
    """How far (pixels) the figure's legends, colour bars and texts reach past its right."""
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    boxes = [ax.get_tightbbox(r) for ax in fig.axes] + [g.get_window_extent(r) for g in fig.legends]
    legends = [ax.get_legend() for ax in fig.axes if ax.get_legend()] + list(fig.legends)
    boxes += [g.get_window_extent(r) for g in legends]
    return max(b.x1 for b in boxes if b is not None) - fig.bbox.x1


def test_map_legends_end_inside_the_figure(counts, geography, tmp_path):
    """Class labels with large numbers ("over 1,301 to 4,863 (37)") used to end past the
    figure's right edge, so that a plain savefig cut them ("(37" and less); the figure is
    widened to hold them, on the real Nottingham LSOAs."""
    rng = np.random.default_rng(1)
    data = counts.assign(rate=rng.gamma(2, 500, len(counts)))
    figs = {
        "choropleth": maps.choropleth(data, "rate", scheme="quantiles", k=5,
                                      legend_title="per 100,000 residents"),
        "lisa": maps.lisa_map(hs.local_moran(counts, value="n", permutations=99, seed=1)),
        "kde": maps.kde_map(hs.kde(counts.assign(geometry=counts.centroid)
                                   .loc[counts["n"] > 0], bandwidth=600, cell_size=300),
                            legend_title="Events per km² (quartic kernel)"),
    }
    for name, fig in figs.items():
        assert _overflow_px(fig) <= 0, name
        path = tmp_path / f"{name}.png"
        fig.savefig(path, bbox_inches=None)  # no tight box: the figure as drawn
        assert path.stat().st_size > 0
    labels = legend_texts(figs["choropleth"])
    assert labels[-1].startswith("over ") and labels[-1].endswith(")")
