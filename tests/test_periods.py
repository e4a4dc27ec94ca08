from __future__ import annotations

import pandas as pd
import pytest

from sna.errors import AnalysisInputError
from sna.periods import FinancialYear, fy_of, fy_start_year, months_of, rolling_12_windows


@pytest.mark.parametrize(
    "text", ["2020/21", "2020-21", "FY2020/21", "fy 2020-21", "2020/2021", 2020, "2020"]
)
def test_parse_forms(text):
    assert FinancialYear.parse(text) == FinancialYear(2020)


def test_century_rollover():
    assert str(FinancialYear.parse("1999/00")) == "1999/00"
    assert FinancialYear.parse("1999/00").end == pd.Timestamp("2000-03-31")


@pytest.mark.parametrize("bad", ["2020/22", "20/21", "next year", "", 2020.5, True])
def test_parse_rejects(bad):
    with pytest.raises(AnalysisInputError):
        FinancialYear.parse(bad)


@pytest.mark.parametrize(
    "when, fy",
    [
        ("2021-03-31 23:59", "2020/21"),
        ("2021-04-01 00:00", "2021/22"),
        ("2020-02-29", "2019/20"),  # leap day
        ("2024-02-29", "2023/24"),
        (pd.Period("2020-04", "M"), "2020/21"),
        (pd.Period("2020-03", "M"), "2019/20"),
    ],
)
def test_month_to_fy_edges(when, fy):
    assert fy_of(when) == fy


def test_series_keeps_missing():
    s = pd.Series(["2020-03-15", None, "2020-04-01"])
    assert fy_start_year(s).tolist() == [2019, pd.NA, 2020]
    assert fy_of(s).tolist() == ["2019/20", pd.NA, "2020/21"]


def test_baseline_and_months():
    fy = FinancialYear.parse("2020/21")
    assert [str(y) for y in fy.baseline(3)] == ["2017/18", "2018/19", "2019/20"]
    assert fy.previous() == FinancialYear(2019)
    m = months_of(["2020/21", "2019/20"])
    assert len(m) == 24 and str(m[0]) == "2019-04" and str(m[-1]) == "2021-03"
    assert fy.slug == "2020-21" and fy.start == pd.Timestamp("2020-04-01")
    with pytest.raises(AnalysisInputError):
        fy.baseline(0)


def test_rolling_windows():
    months = pd.period_range("2020-01", "2021-06", freq="M")
    w = rolling_12_windows(months)
    assert len(w) == 7
    assert (str(w[0][0]), str(w[0][1])) == ("2020-01", "2020-12")


@pytest.mark.parametrize(
    "when, fy",
    [
        ("01/04/2020", "2020/21"),  # 1 April 2020, as a UK user means it (issue #15)
        ("31/03/2020", "2019/20"),
        ("1/4/20", "2020/21"),
        ("01.04.2020", "2020/21"),
        ("01-04-2020", "2020/21"),
        ("12/03/2021 14:30", "2020/21"),
        ("2020-04-01", "2020/21"),  # ISO as it is
        ("2020-03", "2019/20"),
        ("2020-04-01T00:00:00", "2020/21"),
        ("1 April 2020", "2020/21"),
        ("March 2021", "2020/21"),
        (pd.Timestamp("2020-04-01"), "2020/21"),
    ],
)
def test_uk_date_strings_day_first(when, fy):
    assert fy_of(when) == fy


def test_uk_date_series_day_first_and_mixed():
    s = pd.Series(["01/04/2020", "2020-03-31", None, "05/01/2021", "not a date"])
    assert fy_of(s).tolist() == ["2020/21", "2019/20", pd.NA, "2020/21", pd.NA]
    with pytest.raises(AnalysisInputError, match="cannot read"):
        fy_of("not a date")


def test_timestamps_of_each_kind_of_date_column(monkeypatch):
    # sna._validate.timestamps reads every kind of date column the analysis functions take;
    # a datetime column is never asked value by value whether it holds text
    from sna._validate import timestamps

    months = pd.Series(pd.to_datetime(["2020-04-01", "2020-05-01"]))
    mapped = []
    real_map = pd.Series.map
    monkeypatch.setattr(pd.Series, "map",
                        lambda self, *a, **k: mapped.append(str(self.dtype)) or real_map(self, *a, **k))
    assert list(timestamps(months, "month")) == list(months)
    assert list(timestamps(pd.Series([1.5e18, 1.6e18]), "month")) == list(
        pd.to_datetime(pd.Series([1.5e18, 1.6e18])))
    assert mapped == []
    assert list(timestamps(months.astype(object), "m")) == list(months)
    assert mapped == ["object"]  # a column of objects may hold text: asked
    assert list(timestamps(pd.Series(["01/04/2020", "2020-05"]), "m")) == list(months)
    assert list(timestamps(pd.Series(["2020-04", "2020-05"], dtype="string"), "m")) == list(months)
    assert list(timestamps(months.dt.to_period("M"), "m")) == list(months)
    assert list(timestamps(pd.Series(["2020-04", "2020-05"], dtype="category"), "m")) == list(months)
    with pytest.raises(AnalysisInputError, match="cannot be read as dates"):
        timestamps(pd.Series(["2020-04", "no date"]), "m")
    with pytest.raises(AnalysisInputError, match="1 missing"):
        timestamps(pd.Series([months[0], pd.NaT]), "m")


def test_parse_dates_one_value_as_many():
    # one date string (read once, then remembered) is read as the same string among others
    from sna.periods import parse_dates

    for text in ["2020-04", "01/04/2020", " 5 May 2020 ", "2020-04-01T10:00", "no date", "31/02/2020"]:
        one = parse_dates(pd.Series([text], index=[7]))
        many = parse_dates(pd.Series([text, "2020-01-01"], index=[7, 8]))
        assert str(one.dtype) == "datetime64[ns]" and list(one.index) == [7]
        assert one.iloc[0] is pd.NaT if pd.isna(many.iloc[0]) else one.iloc[0] == many.iloc[0]
    assert parse_dates(pd.Series(["2020-04"])).iloc[0] == pd.Timestamp("2020-04-01")
