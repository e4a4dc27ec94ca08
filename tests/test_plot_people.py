"""sna.plot.people: each chart draws what its table says (Agg backend)."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402

import sna.plot  # noqa: E402
from sna.errors import AnalysisInputError  # noqa: E402
from sna.interventions import outcomes, reach  # noqa: E402
from sna.plot.people import (  # noqa: E402
    outcome_plot,
    pyramid,
    reach_bars,
    representation_plot,
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def test_lazy_names_from_sna_plot():
    assert sna.plot.pyramid is pyramid
    assert sna.plot.people.outcome_plot is outcome_plot


def test_pyramid_bar_lengths_are_shares_per_year():
    # 2 males aged 16 (15-17: 3 years), 1 female aged 20 (18-24: 7 years), 1 unknown sex
    inc = pd.DataFrame({"age": [16, 16, 20, 22], "sex": ["Male", "Male", "Female", None]})
    before = inc.copy()
    fig = pyramid(inc, bands=[(0, 14), (15, 17), (18, 24), (25, None)])
    pd.testing.assert_frame_equal(inc, before)
    ax = fig.axes[0]
    widths = [p.get_width() for p in ax.patches]
    # male bars (negative) then female bars; 3 records of known age and sex
    assert widths[1] == pytest.approx(-100 * (2 / 3) / 3)
    assert widths[4 + 2] == pytest.approx(100 * (1 / 3) / 7)
    assert sum(abs(w) for w in widths) == pytest.approx(100 * (2 / 3 / 3 + 1 / 3 / 7))
    assert "1 record(s)" in ax.texts[0].get_text()
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0-14", "15-17", "18-24", "25+"]


def test_pyramid_residents_outline_by_sex_and_split():
    inc = pd.DataFrame({"age": [16], "sex": ["Male"]})
    pop = pd.DataFrame({"age": [16, 16, 30], "sex": ["Male", "Female", "Female"],
                        "population": [100, 100, 200]})
    fig = pyramid(inc, pop, bands=[0, 18], per_year=False)
    lines = fig.axes[0].get_lines()
    male, female = lines[0].get_xdata(), lines[1].get_xdata()
    assert male.tolist() == pytest.approx([-25, -25, 0, 0])  # 100 of 400 aged 0-17
    assert female.tolist() == pytest.approx([25, 25, 50, 50])
    persons = pyramid(inc, pop.drop(columns="sex"), bands=[0, 18], per_year=False)
    assert "half each side" in persons.axes[0].get_legend().get_texts()[0].get_text()
    assert persons.axes[0].get_lines()[1].get_xdata().tolist() == pytest.approx([25, 25, 25, 25])


def test_pyramid_draws_into_given_axes():
    fig, ax = plt.subplots()
    out = pyramid(pd.DataFrame({"age": [20], "sex": ["Female"]}), ax=ax)
    assert out is fig and len(ax.patches) == 20


def test_representation_plot_points_colours_and_reference():
    t = pd.DataFrame({"group": ["City", "County", "Not known"],
                      "representation": [2.0, 0.4, np.nan],
                      "representation_lowercl": [1.3, 0.2, np.nan],
                      "representation_uppercl": [3.0, 0.9, np.nan]})
    fig = representation_plot(t)
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["City", "County"]
    pts = ax.collections[0].get_offsets()
    assert pts[:, 0].tolist() == [2.0, 0.4]
    faces = ax.collections[0].get_facecolors()
    assert not np.allclose(faces[0], faces[1])  # over vs under
    refs = [ln for ln in ax.get_lines() if list(ln.get_xdata()) == [1.0, 1.0]]
    assert refs, "reference line at 1"
    assert ax.get_xscale() == "log"
    assert "1 group(s)" in ax.texts[0].get_text()


def test_representation_plot_infinite_upper_and_errors():
    t = pd.DataFrame({"group": ["A", "B"], "rate_ratio": [0.0, 3.0],
                      "rate_ratio_lowercl": [0.0, 1.0], "rate_ratio_uppercl": [2.0, np.inf]})
    fig = representation_plot(t, value="rate_ratio", log=False)
    assert len(fig.axes[0].collections[0].get_offsets()) == 2
    with pytest.raises(AnalysisInputError, match="representation_lowercl"):
        representation_plot(pd.DataFrame({"group": ["A"], "representation": [1.0]}))
    with pytest.raises(AnalysisInputError, match="no row"):
        representation_plot(t.assign(rate_ratio=np.nan), value="rate_ratio")


def test_reach_bars_stacks_levels():
    parts = pd.DataFrame({"partnership": ["City"] * 3 + ["County"],
                          "level": ["universal", "universal", "tertiary", "secondary"],
                          "age": [10, 11, 12, 13]})
    r = reach(parts, by=[("partnership", "level")])
    fig = reach_bars(r)
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_xticklabels()] == ["City", "County"]
    heights = [p.get_height() for p in ax.patches]
    assert heights == [2, 0, 0, 1, 1, 0]  # universal, secondary, tertiary stacks
    assert sum(heights) == 4
    with pytest.raises(AnalysisInputError, match="partnership', 'level'"):
        reach_bars(reach(parts, by="partnership"))
    one = reach_bars(reach(parts, by="level"), x="level", hue=None)
    assert [p.get_height() for p in one.axes[0].patches] == [2, 1, 1]


def test_outcome_plot_hides_small_groups():
    p = pd.DataFrame({"intervention": ["A"] * 10 + ["B"] * 3,
                      "outcome_start": [1.0] * 13,
                      "outcome_end": [2.0, 3.0] * 5 + [4.0, 5.0, 6.0]})
    o = outcomes(p, by="intervention")
    fig = outcome_plot(o)
    ax = fig.axes[0]
    assert [x.get_text() for x in ax.get_yticklabels()] == ["A", "B", "All"]
    assert len(ax.collections) == 2  # A and All drawn, B not
    assert ax.texts[0].get_text() == "not shown: fewer than 10 pairs (n = 3)"
    assert "Mean change" in ax.get_xlabel()


def test_outcome_plot_offending_in_percent():
    p = pd.DataFrame({"offending_before": [True] * 8 + [False] * 2,
                      "offending_after": [False] * 6 + [True] * 2 + [False] * 2})
    fig = outcome_plot(outcomes(p, measure="offending"))
    x = fig.axes[0].collections[0].get_offsets()[0, 0]
    assert x == pytest.approx(-60.0)
    assert "% offending" in fig.axes[0].get_xlabel()
