"""data.police.uk reader: every quirk of the real data pinned on real rows, and each failure mode."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sna.errors import InputFormatError
from sna.io.police_uk import (
    OUTCOMES_COLUMNS,
    STOP_SEARCH_COLUMNS,
    STREET_COLUMNS,
    file_kind,
    police_uk_files,
    read_police_uk,
    read_police_uk_outcomes,
    read_police_uk_stop_search,
)

DATA = Path(__file__).parent / "data" / "police_uk"
OCT = DATA / "2018-10" / "2018-10-nottinghamshire-street.csv"
JAN = DATA / "2019-01" / "2019-01-nottinghamshire-street.csv"
HEADER = OCT.read_bytes().split(b"\n", 1)[0]


@pytest.fixture(scope="module")
def df() -> pd.DataFrame:
    return read_police_uk(DATA)


def _rows(df, path, lines):
    return df[(df["file"] == str(path)) & df["line"].isin(lines)]


# ---- reading ------------------------------------------------------------------------------
def test_every_line_is_a_row_with_its_file_and_line(df):
    assert len(df) == 39 + 8
    assert df.attrs["sna"]["rows_read"] == 47
    oct_ = df[df["file"] == str(OCT)]
    assert oct_["line"].tolist() == list(range(2, 41))  # header = line 1
    assert df[df["file"] == str(JAN)]["line"].tolist() == list(range(2, 10))
    assert [f["rows"] for f in df.attrs["sna"]["files"]] == [39, 8]
    first = df.iloc[0]
    assert (first["Crime ID"].startswith("3c759a54") and first["Month"] == "2018-10"
            and first["LSOA code"] == "E01019442" and first["Longitude"] == -1.347547)


def test_compact_dtypes(df):
    assert isinstance(df["Crime type"].dtype, pd.CategoricalDtype)
    assert isinstance(df["LSOA code"].dtype, pd.CategoricalDtype)
    assert isinstance(df["file"].dtype, pd.CategoricalDtype)
    assert df["Longitude"].dtype == np.float64 and df["line"].dtype == np.int32
    assert "Context" not in df.columns  # always empty; not kept


def test_blank_crime_id_on_anti_social_behaviour_rows_only(df):
    blank = df["Crime ID"].isna()
    assert blank.sum() == 12
    assert set(df.loc[blank, "Crime type"]) == {"Anti-social behaviour"}
    assert df.loc[df["Crime type"] == "Anti-social behaviour", "Crime ID"].isna().all()


def test_byte_identical_rows_are_kept_not_deduplicated(df):
    # Howden Road x3 and Parking Area x2 (anti-social behaviour), same month and map point
    howden = _rows(df, OCT, [22, 24, 26])
    assert len(howden) == 3
    assert howden.drop(columns="line").astype(str).nunique().max() == 1
    # the one non-ASB byte-identical pair of the whole 5 months: Possession of weapons, Gedling
    pair = _rows(df, JAN, [2, 3])
    assert len(pair) == 2 and set(pair["Crime type"]) == {"Possession of weapons"}
    # counted: Howden 2 + Parking Area 1 + two identical no-location ASB rows 1; January pair 1
    assert [f["duplicate_rows"] for f in df.attrs["sna"]["files"]] == [4, 1]
    assert df.attrs["sna"]["duplicate_rows"] == 5
    assert df.drop(columns="line").duplicated().sum() == 5


def test_repeated_crime_ids_are_not_keys(df):
    ids = df["Crime ID"].dropna()
    repeated = ids[ids.duplicated(keep=False)]
    assert set(repeated.str[:8]) == {"10354993", "0101d5dd", "22ad95d6", "0db7e8d1"}
    # same month, different places
    same = df[df["Crime ID"].str.startswith("10354993", na=False)]
    assert same["LSOA code"].tolist() == ["E01013830", "E01013825"]
    # one of them has a location, the other none
    split = df[df["Crime ID"].str.startswith("22ad95d6", na=False)]
    assert split["LSOA code"].isna().tolist() == [False, True]


def test_missing_location_rows(df):
    nol = df[df["Location"] == "No Location"]
    assert len(nol) == 5
    assert nol["Longitude"].isna().all() and nol["Latitude"].isna().all()
    assert nol["LSOA code"].isna().all()
    assert nol["line"].tolist() == [37, 38, 39, 40, 9]


def test_out_of_area_lsoas_are_read_as_they_are(df):
    codes = set(df["LSOA code"].dropna())
    assert {"W01000818", "E01019442", "E01019456"} <= codes  # Wales, Amber Valley (Derbyshire)


# ---- inputs -------------------------------------------------------------------------------
def test_single_file_glob_and_list_give_the_same_rows(df):
    one = read_police_uk(OCT)
    assert len(one) == 39
    globbed = read_police_uk(str(DATA / "*" / "*-street.csv"))
    listed = read_police_uk([OCT, JAN])
    for other in (globbed, listed):
        pd.testing.assert_frame_equal(other.reset_index(drop=True), df.reset_index(drop=True))


def _zip_download(tmp_path: Path) -> Path:
    """A zip laid out as data.police.uk serves it, with outcomes and stop-and-search files."""
    z = tmp_path / "download.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.write(OCT, "2018-10/2018-10-nottinghamshire-street.csv")
        zf.write(JAN, "2019-01/2019-01-nottinghamshire-street.csv")
        zf.writestr("2018-10/2018-10-nottinghamshire-outcomes.csv",
                    ",".join(OUTCOMES_COLUMNS) + "\nabc,2018-10,Nottinghamshire Police,Nottinghamshire Police,"
                    "-1.17,52.95,On or near X,E01013887,Nottingham 001A,Suspect charged\n")
        zf.writestr("2018-10/2018-10-nottinghamshire-stop-and-search.csv",
                    ",".join(STOP_SEARCH_COLUMNS) + "\nPerson search,2018-10-01T10:00:00+00:00,False,,52.95,"
                    "-1.17,Male,18-24,,,Misuse of Drugs Act 1971 (section 23),Controlled drugs,Arrest,True,False\n")
    return z


def test_zip_as_downloaded_reads_street_files_only(tmp_path, df):
    z = _zip_download(tmp_path)
    street = read_police_uk(z)
    assert len(street) == 47
    assert street["file"].iloc[0] == f"{z}!2018-10/2018-10-nottinghamshire-street.csv"
    assert (street["Crime type"].astype(str).values == df["Crime type"].astype(str).values).all()
    out = read_police_uk_outcomes(z)
    assert out["Outcome type"].tolist() == ["Suspect charged"] and out["line"].tolist() == [2]
    ss = read_police_uk_stop_search(z)
    assert ss["Object of search"].tolist() == ["Controlled drugs"]


def test_folder_with_mixed_kinds_and_many_forces(tmp_path):
    z = _zip_download(tmp_path)
    folder = tmp_path / "tree"
    with zipfile.ZipFile(z) as zf:
        zf.extractall(folder)
    # a second force: same rows under another force's name
    other = folder / "2019-01" / "2019-01-derbyshire-street.csv"
    other.write_bytes(JAN.read_bytes().replace(b"Nottinghamshire Police", b"Derbyshire Constabulary"))
    street = read_police_uk(folder)
    assert len(street) == 47 + 8
    assert set(street["Falls within"]) == {"Nottinghamshire Police", "Derbyshire Constabulary"}
    assert "outcomes" not in " ".join(street["file"].astype(str).unique())
    assert [f.basename for f in police_uk_files(folder, "outcomes")] == ["2018-10-nottinghamshire-outcomes.csv"]


def test_kind_by_name_or_header(tmp_path):
    assert file_kind("2018-10-nottinghamshire-street.csv") == "street"
    renamed = tmp_path / "my_export.csv"
    renamed.write_bytes(OCT.read_bytes())
    assert file_kind(renamed) == "street"
    assert len(read_police_uk(tmp_path)) == 39  # found by header when the name is not the published one


def test_an_outcomes_file_named_explicitly_is_refused(tmp_path):
    z = _zip_download(tmp_path)
    with zipfile.ZipFile(z) as zf:
        zf.extractall(tmp_path / "x")
    f = tmp_path / "x" / "2018-10" / "2018-10-nottinghamshire-outcomes.csv"
    with pytest.raises(InputFormatError, match="outcomes file.*read_police_uk_outcomes"):
        read_police_uk(f)


def test_missing_path_and_folder_without_files(tmp_path):
    with pytest.raises(InputFormatError, match="not found"):
        read_police_uk(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputFormatError, match="no data.police.uk files"):
        read_police_uk(tmp_path / "empty")


def test_embedded_newline_keeps_physical_line_numbers(tmp_path):
    lines = OCT.read_bytes().split(b"\n")
    # quote a Location with a line break inside: record 2 spans lines 3-4
    lines[2] = lines[2].replace(b"On or near Police Station", b'"On or near\nPolice Station"')
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(b"\n".join(lines))
    df = read_police_uk(f)
    assert df["line"].tolist()[:4] == [2, 3, 5, 6]
    assert df["Location"].iloc[1] == "On or near\nPolice Station"


def test_non_numeric_coordinate_becomes_unknown(tmp_path, caplog):
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(OCT.read_bytes().replace(b"-1.347547", b"west", 1))
    df = read_police_uk(f)
    assert np.isnan(df["Longitude"].iloc[0]) and len(df) == 39
    assert "non-numeric Longitude" in caplog.text


def test_header_only_file_has_no_rows(tmp_path):
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(HEADER + b"\n")
    assert len(read_police_uk(f)) == 0


# ---- failure modes: InputFormatError naming the file and the line ---------------------------
def test_truncated_last_line(tmp_path):
    data = OCT.read_bytes()
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(data[: data.rindex(b"Nottinghamshire Police")])  # cut inside the last line
    with pytest.raises(InputFormatError) as e:
        read_police_uk(f)
    assert e.value.line == 40 and str(f) in str(e.value)
    assert "truncated" in str(e.value) and "found 4" in str(e.value)


def test_unterminated_quote(tmp_path):
    data = OCT.read_bytes()
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(data + b'x,2018-10,Nottinghamshire Police,"Nottinghamshire Pol')
    with pytest.raises(InputFormatError, match="never closed") as e:
        read_police_uk(f)
    assert e.value.line == 41


def test_wrong_header_names_the_missing_columns(tmp_path):
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(OCT.read_bytes().replace(b"Crime type", b"Offence", 1).replace(b"LSOA code", b"LSOA", 1))
    with pytest.raises(InputFormatError) as e:
        read_police_uk(f)
    msg = str(e.value)
    assert "'LSOA code', 'Crime type'" in msg and e.value.line == 1 and str(f) in msg


def test_not_utf8(tmp_path):
    lines = OCT.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b"Petrol Station", "Pétrol Station".encode("cp1252"))
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(b"\n".join(lines))
    with pytest.raises(InputFormatError, match="not UTF-8") as e:
        read_police_uk(f)
    assert e.value.line == 5


def test_declared_encoding_is_honoured(tmp_path):
    lines = OCT.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b"Petrol Station", "Pétrol Station".encode("cp1252"))
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(b"\n".join(lines))
    assert read_police_uk(f, encoding="cp1252")["Location"].iloc[3] == "On or near Pétrol Station"


@pytest.mark.parametrize("content", [b"", b"\n\n"])
def test_empty_file(tmp_path, content):
    f = tmp_path / "2018-10-nottinghamshire-street.csv"
    f.write_bytes(content)
    with pytest.raises(InputFormatError, match="empty") as e:
        read_police_uk(f)
    assert str(f) in str(e.value)


def test_bad_zip(tmp_path):
    z = tmp_path / "download.zip"
    z.write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(InputFormatError, match="zip"):
        read_police_uk(z)


def test_street_header_constant_matches_the_real_files():
    assert HEADER.decode().split(",") == list(STREET_COLUMNS)


def test_crlf_files_and_lone_carriage_returns_read_as_the_lf_file(tmp_path):
    """Windows line ends are the published file's rows (same lines, same duplicate count); a
    carriage return that ends no line stays in its value. The line ends are found with numpy
    (``_record_bounds``), which must agree with ``bytes.replace`` on every shape."""
    from sna.io._files import InputFile
    from sna.io.police_uk import _clean as puk
    from sna.io.police_uk._read import _ascii, _record_bounds, read_street_split

    lf = read_police_uk(OCT)
    crlf = tmp_path / "2018-10-nottinghamshire-street.csv"
    crlf.write_bytes(OCT.read_bytes().replace(b"\n", b"\r\n"))
    got = read_police_uk(crlf)
    pd.testing.assert_frame_equal(got.drop(columns="file"), lf.drop(columns="file"))
    a = read_street_split(InputFile(str(OCT), OCT), puk._task_types())
    b = read_street_split(InputFile(str(crlf), crlf), puk._task_types())
    assert a[0].equals(b[0]) and (a[1] == b[1]).all()
    assert a[2]["duplicate_rows"] == b[2]["duplicate_rows"] == int(lf.drop(columns=["line"]).duplicated().sum())
    # every shape, against the bytes methods the numpy scans replace
    def reference(data, nrows):
        if b"\r" in data:
            data = data.replace(b"\r\n", b"\n")
        if not data.endswith(b"\n"):
            data = data + b"\n"
        ends = [i for i, c in enumerate(data) if c == 10]
        k = len(ends)
        while k > 1 and ends[k - 1] - ends[k - 2] == 1:  # trailing blank lines
            k -= 1
        if k != nrows + 1:
            return None
        return data, [e + 1 for e in ends[:k - 1]], ends[1:k]

    for data in (b"h\r\na\r\nb\r\n", b"h\na\nb", b"h\na\rx\nb\n", b"h\r\na\n\n\n", b"\r\nh\na\n",
                 b"h\ra\nb\n", b"h\na\r", b"h\r\n\r\na\r\n"):
        for nrows in (1, 2, 3):
            got, want = _record_bounds(data, nrows), reference(data, nrows)
            assert (got is None) == (want is None), (data, nrows)
            if got is not None:
                assert got[0] == want[0] and list(got[1]) == want[1] and list(got[2]) == want[2]
    assert _ascii(b"E01013810,-1.1") and not _ascii("Nottingham Caf\u00e9".encode()) and _ascii(b"")
