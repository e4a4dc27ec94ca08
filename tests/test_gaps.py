"""A month without data is missing, never 0 (issue #15): the real Nottingham sample with its
middle month (2018-12) removed, end to end through the monthly series, the SPC chart and
the change against the baseline."""

from __future__ import annotations

import shutil

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from numpy.testing import assert_allclose  # noqa: E402

import sna  # noqa: E402
from sna import rates, spc, trend  # noqa: E402
from sna.datasets import nottingham_sample_config  # noqa: E402
from sna.plot import stats as charts  # noqa: E402

SAMPLE = nottingham_sample_config().parent


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """The sample as bundled and a copy without its 2018-12 file."""
    copy = tmp_path_factory.mktemp("gap") / "nottingham-sample"
    shutil.copytree(SAMPLE, copy)
    shutil.rmtree(copy / "police" / "2018-12")
    full = sna.load_assessment(nottingham_sample_config(), use_cache=False)
    gap = sna.load_assessment(copy / "sna.yml", use_cache=False)
    return full, gap


def _serious(a):
    inc = a.source("police")
    return inc[inc["serious_violence"].fillna(False).astype(bool)]


def test_the_source_knows_the_gap(samples):
    _, gap = samples
    q = gap.quality.sources["police"]
    assert q.missing_months == ["2018-12"]
    assert q.months == ["2018-10", "2018-11", "2019-01", "2019-02"]


def test_monthly_series_has_the_month_missing_not_zero(samples):
    full, gap = samples
    m_full = trend.monthly(_serious(full), covered=full.quality.sources["police"].months)
    m_gap = trend.monthly(_serious(gap), covered=gap.quality.sources["police"].months)
    assert m_gap["month"].dt.strftime("%Y-%m").tolist() == [
        "2018-10", "2018-11", "2018-12", "2019-01", "2019-02"]
    assert m_gap["n"].isna().tolist() == [False, False, True, False, False]
    # the other months are the real sample's counts, unchanged
    keep = m_gap["n"].notna()
    assert m_gap.loc[keep, "n"].tolist() == m_full.loc[keep, "n"].tolist()
    assert m_full["n"].notna().all() and m_full["n"].iloc[2] > 1000
    assert m_gap.attrs["sna"]["monthly"]["missing_months"] == ["2018-12"]
    # without the coverage the gap would have been a zero: the failure the issue reports
    assert trend.monthly(_serious(gap))["n"].iloc[2] == 0


def test_spc_has_no_point_there_and_limits_without_it(samples):
    _, gap = samples
    m = trend.monthly(_serious(gap), covered=gap.quality.sources["police"].months)
    chart = spc.xmr(m, "n", "month")
    row = chart.iloc[2]
    assert row["point_type"] == "no data" and not row["special_cause_flag"]
    x = m["n"].dropna().astype(float).to_numpy()
    assert_allclose(chart["mean"].iloc[0], x.mean())
    # moving ranges only between consecutive months: Oct-Nov and Jan-Feb
    mr = np.mean([abs(x[1] - x[0]), abs(x[3] - x[2])])
    assert_allclose(chart["upl"].iloc[0], x.mean() + 2.66 * mr)
    meta = chart.attrs["sna"]["xmr"]["groups"]["all"][0]
    assert (meta["points"], meta["gaps"]) == (4, 1)
    summary = spc.variation_summary(chart).iloc[0]
    assert summary["gaps"] == 1 and "1 month without data is left out" in summary["summary"]
    fig = charts.spc_chart(chart)
    ax = fig.axes[0]
    assert sum(len(c.get_offsets()) for c in ax.collections) == 4  # no point for 2018-12
    assert [p.get_label() for p in ax.patches if p.get_hatch()] == ["No data (month missing)"]
    plt.close(fig)


def test_lsoa_funnel_of_the_real_sample_with_and_without_overdispersion(samples):
    """The 182 LSOAs of Nottingham: plain Poisson limits flag 86 (the issue's figure); the
    over-dispersed limits flag far fewer."""
    full, _ = samples
    n = _serious(full).groupby("lsoa", observed=True).size().rename("n")
    d = full.geography[["lsoa", "population"]].merge(n, left_on="lsoa", right_index=True,
                                                    how="left").fillna({"n": 0})
    assert len(d) == 182
    plain = rates.funnel(pd.DataFrame(d), "n", "population", overdispersion=False)
    assert (plain["significance"] != "Not significant").sum() == 86
    adjusted = rates.funnel(pd.DataFrame(d), "n", "population")
    od = adjusted.attrs["sna"]["funnel"]["overdispersion"]
    assert od["applied"] and od["phi"] > 5
    assert (adjusted["significance"] != "Not significant").sum() < 40


@pytest.mark.slow
def test_the_report_names_the_gap(samples, tmp_path):
    """`sna run` on the sample without 2018-12: the data-quality and volume chapters name the
    month and say it is left out, never counted as 0."""
    import html
    import re

    from sna import report

    _, gap = samples
    result = report.run(gap.config, chapters=["00_data_quality", "02_volume_and_trend"],
                        output=tmp_path, jobs=1, progress=False)
    assert result.exit_code == 0, [c.summary() for c in result.failed]

    def text(name):
        page = (result.output_dir / "chapters" / f"{name}.html").read_text(encoding="utf-8")
        page = re.sub(r"<style.*?</style>|<script.*?</script>", "", page, flags=re.S)
        return re.sub(r"\s+", " ", html.unescape(re.sub(r"<[^>]+>", " ", page)))

    assert "police : 2018-12" in text("00_data_quality")
    volume = text("02_volume_and_trend")
    assert ("The police data have no records for December 2018 (a gap in the supply of data, "
            "not a month without violence): it is left out, never counted as 0.") in volume
    assert "Hatched: months without data." in volume
    assert "(4 months)" in volume  # the partial year's total is labelled
