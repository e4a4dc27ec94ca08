"""sna.plot.style and sna.plot.stats: the figures build, with their key artists and labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

from sna.errors import AnalysisInputError  # noqa: E402
from sna.plot import stats as charts  # noqa: E402
from sna.plot import style  # noqa: E402
from sna.rates import funnel  # noqa: E402
from sna.spc import xmr  # noqa: E402
from sna.trend import compare_periods, its, stl  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def _monthly(start="2016-04", end="2022-03", seed=4):
    rng = np.random.default_rng(seed)
    m = pd.period_range(start, end, freq="M")
    dip = (m >= pd.Period("2020-04", "M")) & (m < pd.Period("2021-04", "M"))
    mu = 100 * (1 + 0.15 * np.cos(2 * np.pi * (m.month - 7) / 12)) * np.where(dip, 0.7, 1.0)
    return pd.DataFrame({"month": m.to_timestamp(), "n": rng.poisson(mu)})


def _labels(ax):
    return [a.get_label() for a in ax.get_lines() if not a.get_label().startswith("_")]


def _scatter_colours(ax):
    out = set()
    for coll in ax.collections:
        fc = coll.get_facecolors()
        out |= {to_hex(c) for c in fc}
    return out


# ------------------------------------------------------------------ style


def test_palettes_and_mdc_colours():
    assert len(style.PALETTE) == 8 and all(c.startswith("#") and len(c) == 7 for c in style.PALETTE)
    assert style.categorical(10)[8] == style.PALETTE[0]
    assert style.IMPROVEMENT == "#289de0"
    assert style.CONCERN == "#fab428"
    assert style.COMMON_CAUSE == "#7b7d7d"
    assert set(style.MDC_COLOURS) == {"improvement", "concern", "neutral", "common cause"}
    from sna.rates import FUNNEL_CLASSES

    assert set(style.SIGNIFICANCE_COLOURS) == set(FUNNEL_CLASSES)
    for name in style.__all__:
        assert hasattr(style, name), name


def test_lazy_names_from_sna_plot():
    import sna.plot

    assert sna.plot.PALETTE == style.PALETTE
    assert sna.plot.spc_chart is charts.spc_chart


def test_house_style_is_scoped():
    before = matplotlib.rcParams["axes.spines.top"]
    with style.house_style():
        assert matplotlib.rcParams["axes.spines.top"] is False
        assert matplotlib.rcParams["savefig.dpi"] == 150
    assert matplotlib.rcParams["axes.spines.top"] == before


def test_savefig_png_at_150_dpi_and_caption(tmp_path):
    from PIL import Image

    fig, ax = style.new_figure()
    ax.plot([1, 2])
    text = style.caption(fig, "Synthetic data.", source="sna demo")
    assert text.get_text() == "Synthetic data. Source: sna demo"
    path = style.savefig(fig, tmp_path / "sub" / "chart", close=True)
    assert path == tmp_path / "sub" / "chart.png" and path.exists()
    with Image.open(path) as im:
        assert im.format == "PNG"
        assert round(im.info["dpi"][0]) == 150


# ------------------------------------------------------------------ trend chart


def test_trend_chart_monthly_with_baseline_and_lockdowns():
    fig = charts.trend_chart(_monthly(), year="2020/21", rolling=True, title="Violence")
    ax = fig.axes[0]
    assert ax.get_title() == "Violence"
    labels = _labels(ax)
    assert "Count" in labels and "12-month average" in labels
    assert "Baseline 2017/18 to 2019/20 average" in labels
    gids = [line.get_gid() for line in ax.get_lines() if line.get_gid()]
    assert gids == ["lockdown:Lockdown 1", "lockdown:Lockdown 2", "lockdown:Lockdown 3"]
    texts = [t.get_text().strip() for t in ax.texts]
    assert {"Lockdown 1", "Lockdown 2", "Lockdown 3"} <= set(texts)
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "2020/21" in legend and any("range of yearly averages" in t for t in legend)
    assert ax.get_ylabel() == "Count per month"


def test_trend_chart_yearly_by_groups_without_lockdowns_outside_range():
    df = pd.DataFrame({"fy": ["2016/17", "2017/18", "2018/19"] * 2, "area": ["A"] * 3 + ["B"] * 3,
                       "n": [10, 12, 11, 20, 22, 19]})
    fig, ax = plt.subplots()
    out = charts.trend_chart(df, date="fy", by="area", ax=ax)
    assert out is fig
    assert _labels(ax) == ["A", "B"]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["2016/17", "2017/18", "2018/19"]
    assert not [line for line in ax.get_lines() if (line.get_gid() or "").startswith("lockdown")]
    assert ax.get_ylabel() == "Count per year"


def test_trend_chart_rejects_missing_column():
    with pytest.raises(AnalysisInputError, match="no column 'count'"):
        charts.trend_chart(_monthly(), value="count")


# ------------------------------------------------------------------ SPC chart


def test_spc_chart_colours_limits_and_icon():
    x = [10, 12, 11, 13, 12, 14, 11, 10, 12, 13, 30, 12]  # the 11th is a concern (tests/test_spc.py)
    df = pd.DataFrame({"month": pd.period_range("2020-04", periods=12, freq="M"), "n": x})
    fig = charts.spc_chart(xmr(df, "n", "month"), title="SPC")
    ax = fig.axes[0]
    assert ax.get_title(loc="left") == "SPC"  # left, clear of the icon
    colours = _scatter_colours(ax)
    assert colours == {style.CONCERN, style.COMMON_CAUSE}
    assert "Mean" in _labels(ax) and "Process limits" in _labels(ax)
    assert ax.texts[-1].get_text() == "Common cause variation"
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "Concern" in legend and "Common cause" in legend
    # ending on the special cause: the icon says so (11 points: provisional)
    latest = charts.spc_chart(xmr(df.iloc[:11], "n", "month")).axes[0]
    assert latest.texts[-1].get_text() == (
        "Special cause variation: concern (higher)\n(provisional limits)")
    # a low run of 12 points is an improvement for violence (blue)
    low = pd.DataFrame({"month": pd.period_range("2020-04", periods=13, freq="M"),
                        "n": [5, 6] * 6 + [30]})
    assert style.IMPROVEMENT in _scatter_colours(charts.spc_chart(xmr(low, "n", "month")).axes[0])


def test_spc_chart_provisional_and_groups():
    df = pd.DataFrame({"month": list(pd.period_range("2020-04", periods=8, freq="M")) * 2,
                       "area": ["A"] * 8 + ["B"] * 8, "n": list(range(8)) + [3, 4] * 4})
    res = xmr(df, "n", "month", by="area")
    with pytest.raises(AnalysisInputError, match="pass group="):
        charts.spc_chart(res)
    fig = charts.spc_chart(res, group="B")
    ax = fig.axes[0]
    assert "Provisional process limits" in _labels(ax)
    assert "provisional limits" in ax.texts[-1].get_text()
    with pytest.raises(AnalysisInputError, match="sna.spc.xmr"):
        charts.spc_chart(df)


# ------------------------------------------------------------------ funnel


def test_funnel_plot_limits_points_and_labels():
    df = pd.DataFrame({"area": list("ABCDE"), "n": [30, 120, 95, 160, 3],
                       "pop": [40_000, 100_000, 90_000, 100_000, 4000]})
    res = funnel(df, "n", "pop", overdispersion=False)
    fig = charts.funnel_plot(res, label="area", title="Funnel")
    ax = fig.axes[0]
    assert _labels(ax) == ["Average", "95% limits", "99.8% limits"]
    annotated = sorted(t.get_text() for t in ax.texts)
    assert annotated == sorted(res.loc[res.significance != "Not significant", "area"])
    assert style.SIGNIFICANCE_COLOURS["High (0.001)"].lower() in _scatter_colours(ax)
    assert ax.get_ylabel() == "Rate per 100,000" and ax.get_xlabel() == "pop"
    every = charts.funnel_plot(res, label="area", annotate="all")
    assert len(every.axes[0].texts) == 5
    prop = funnel(pd.DataFrame({"x": [10, 50, 90], "n": [100, 200, 150]}), "x", "n",
                  kind="proportion")
    assert charts.funnel_plot(prop).axes[0].get_ylabel() == "Proportion"


def test_funnel_labels_do_not_overlap_and_the_legend_is_outside_the_data():
    # the districts of a county: similar populations, several far outside the limits, so
    # their labels start on top of each other
    names = ["Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Mansfield",
             "Newark and Sherwood", "Rushcliffe", "Nottingham"]
    df = pd.DataFrame({"area": names, "n": [900, 610, 420, 400, 905, 620, 300, 2600],
                       "pop": [128_000, 117_000, 113_000, 117_000, 109_000, 122_000, 119_000,
                               332_000]})
    fig = charts.funnel_plot(funnel(df, "n", "pop"), label="area", annotate="all")
    ax = fig.axes[0]
    fig.canvas.draw()
    r = fig.canvas.get_renderer()
    labels = [t for t in ax.texts if t.get_text()]
    assert sorted(t.get_text() for t in labels) == sorted(names)
    boxes = [t.get_window_extent(r) for t in labels]
    assert not any(boxes[i].overlaps(boxes[j]) for i in range(len(boxes))
                   for j in range(i + 1, len(boxes)))
    legend = ax.get_legend().get_window_extent(r)
    assert legend.x0 >= ax.get_window_extent(r).x1 - 1  # beside the plot, not over the points


# ------------------------------------------------------------------ STL and ITS


def test_stl_chart_panels():
    fig = charts.stl_chart(stl(_monthly()), title="Seasonality")
    assert [a.get_ylabel() for a in fig.axes] == ["Observed", "Trend", "Seasonal", "Remainder"]
    assert fig.axes[0].get_title() == "Seasonality"
    fig2, axes = plt.subplots(4, 1)
    assert charts.stl_chart(stl(_monthly()), ax=axes) is fig2
    with pytest.raises(AnalysisInputError, match="four Axes"):
        charts.stl_chart(stl(_monthly()), ax=axes[:2])


def test_its_chart_observed_fitted_counterfactual():
    res = its(_monthly(end="2021-03"))
    fig = charts.its_chart(res, title="ITS")
    ax = fig.axes[0]
    assert _labels(ax) == ["Fitted", "Model projection without the interruption (12 months)"]
    texts = " ".join(t.get_text() for t in ax.texts)
    assert "2020-04" in texts and "Level change: rate ratio" in texts
    assert "Newey-West (HAC, 3 lags)" in texts and "Durbin-Watson" in texts
    cf = [line for line in ax.get_lines() if line.get_label().startswith("Model projection")][0]
    assert len(cf.get_xdata()) == 12  # the projection window only, not every month after


# ------------------------------------------------------------------ Table A


def test_table_a_chart_bars_intervals_and_marks():
    rows = []
    for cat, base, cur in [("Robbery", 300, 186), ("Public order", 500, 560),
                           ("Homicide", 6, 4), ("Knife possession", 250, 240)]:
        for fy in ["2017/18", "2018/19", "2019/20"]:
            rows.append({"fy": fy, "category": cat, "n": base})
        rows.append({"fy": "2020/21", "category": cat, "n": cur})
    table = compare_periods(pd.DataFrame(rows), year="2020/21", total="Overall")
    fig = charts.table_a_chart(table, title="Table A")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == [  # top to bottom
        "Overall", "Homicide", "Knife possession", "Public order", "Robbery"]
    assert ax.get_yticks()[0] > ax.get_yticks()[-1]
    bars = ax.patches
    assert len(bars) == 5
    colours = {to_hex(b.get_facecolor()) for b in bars}
    assert colours == {style.IMPROVEMENT, style.CONCERN, style.COMMON_CAUSE}
    texts = [t.get_text() for t in ax.texts]
    assert "-38%*" in texts and "+12%*" in texts and "-4%" in texts
    assert any("fewer than 10" in t for t in texts)
    assert "against 2017/18 to 2019/20" in ax.get_xlabel()
    with pytest.raises(AnalysisInputError, match="no column 'pct_change'"):
        charts.table_a_chart(table.drop(columns="pct_change"))


# ------------------------------------------------------------------ gaps (a month without data)


def _gappy():
    m = _monthly()
    m["n"] = m["n"].astype("Int64")
    m.loc[30, "n"] = pd.NA  # 2018-10: the source has no data for it
    return m


def _hatched(ax):
    return [p for p in ax.patches if p.get_hatch()]


def test_trend_chart_draws_a_month_without_data_as_a_gap():
    gappy = _gappy()
    fig = charts.trend_chart(gappy, year="2020/21", rolling=True)
    ax = fig.axes[0]
    count = [line for line in ax.get_lines() if line.get_label() == "Count"][0]
    y = np.asarray(count.get_ydata(), dtype=float)
    assert np.isnan(y[30]) and not np.isnan(y[29]) and not (y[~np.isnan(y)] == 0).any()
    assert len(_hatched(ax)) == 1
    assert "No data (month missing)" in [p.get_label() for p in _hatched(ax)]
    # an absent month is the same gap
    absent = charts.trend_chart(_monthly().drop(index=30))
    y2 = np.asarray([line for line in absent.axes[0].get_lines()
                     if line.get_label() == "Count"][0].get_ydata(), dtype=float)
    assert len(y2) == 72 and np.isnan(y2[30])
    roll = [line for line in ax.get_lines() if line.get_label() == "12-month average"][0]
    ry = np.asarray(roll.get_ydata(), dtype=float)
    assert np.isnan(ry[30:42]).all() and not np.isnan(ry[42])


def test_trend_chart_labels_partial_years():
    yearly = pd.DataFrame({"fy": ["2017/18", "2018/19", "2019/20"], "n": [1200, 500, 1300],
                           "months": [12, 5, 12]})
    fig = charts.trend_chart(yearly, date="fy", months="months")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == ["2017/18", "2018/19\n(5 months)", "2019/20"]


def test_spc_chart_no_point_for_a_month_without_data():
    chart = xmr(_gappy(), "n", "month")
    fig = charts.spc_chart(chart)
    ax = fig.axes[0]
    line = [x for x in ax.get_lines() if x.get_label() == "_line"][0]
    assert np.isnan(np.asarray(line.get_ydata(), dtype=float)[30])
    points = sum(len(c.get_offsets()) for c in ax.collections)
    assert points == 71  # 72 months, one without data
    assert len(_hatched(ax)) == 1
    assert chart.loc[30, "point_type"] == "no data"


def test_funnel_plot_draws_the_overdispersed_limits():
    names = ["Ashfield", "Bassetlaw", "Broxtowe", "Gedling", "Mansfield",
             "Newark and Sherwood", "Rushcliffe", "Nottingham"]
    df = pd.DataFrame({"area": names, "n": [1093, 1003, 621, 646, 1294, 881, 513, 4401],
                       "pop": [128337, 118280, 114627, 118239, 109351, 123127, 121416, 337098]})
    res = funnel(df, "n", "pop", multiplier=1000)
    fig = charts.funnel_plot(res, label="area")
    ax = fig.axes[0]
    upper = [x for x in ax.get_lines() if x.get_label() == "99.8% limits"][0]
    top = np.asarray(upper.get_ydata(), dtype=float)
    assert top.min() > res["value"].max()  # no district beyond the adjusted 99.8% limit
    title = ax.get_legend().get_title().get_text()
    assert "over-dispersion" in title and "φ = 123.0" in title
    plain = charts.funnel_plot(funnel(df, "n", "pop", multiplier=1000, overdispersion=False))
    assert plain.axes[0].get_legend().get_title().get_text() == "Poisson limits"


def test_titled_png_copies_the_picture_and_adds_its_title_and_source():
    import io

    from PIL import Image

    from sna.plot import style

    fig, ax = style.new_figure(figsize=(6, 3))
    ax.plot([0, 1, 2], [3, 1, 2])
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=120, facecolor="white")
    plt.close(fig)
    picture = np.asarray(Image.open(buf).convert("RGBA"))
    title = "Figure 2.1. " + "A caption long enough to wrap over two lines of the band. " * 2
    out = style.titled_png(buf.getvalue(), title, "Source: here.", dpi=120)
    img = Image.open(io.BytesIO(out))
    assert img.info.get("dpi") and round(img.info["dpi"][0]) == 120
    got = np.asarray(img.convert("RGBA"))
    h, w = picture.shape[:2]
    assert got.shape[1] == w and got.shape[0] > h
    # the picture's pixels, unchanged, between the two bands
    starts = [i for i in range(got.shape[0] - h + 1) if np.array_equal(got[i:i + h], picture)]
    assert len(starts) == 1
    above, below = got[:starts[0]], got[starts[0] + h:]
    dark = lambda a: (a[..., :3].max(axis=-1) < 100).sum()  # noqa: E731 - text pixels
    assert dark(above) > 500 and dark(below) > 20  # the title (two lines) and the source
    # nothing cut off at the outer edges: the first and last rows stay white
    assert (above[:3, ..., :3] == 255).all() and (below[-3:, ..., :3] == 255).all()
    # without a title or source: the picture alone
    bare = np.asarray(Image.open(io.BytesIO(style.titled_png(buf.getvalue(), None, None,
                                                             dpi=120))).convert("RGBA"))
    assert np.array_equal(bare, picture)
