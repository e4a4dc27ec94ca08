"""Keyed pseudonymisation (sna.privacy)."""

from __future__ import annotations

import hashlib
import hmac

import pandas as pd
import pytest

from sna.config import load_config
from sna.errors import PrivacyError
from sna.privacy import (
    PSEUDONYM_LENGTH,
    Pseudonymiser,
    key_fingerprint,
    load_key,
    normalise_identifier,
    pseudonymise,
    pseudonymiser,
)

KEY = b"test key for sna unit tests only"


def _config(tmp_path, **privacy):
    import yaml

    path = tmp_path / "sna.yml"
    path.write_text(yaml.safe_dump({
        "area": "T",
        "geography": {"boundaries": "b.json"},
        "sources": {"p": {"format": "police_extract", "path": "x.csv"}},
        "privacy": privacy,
    }))
    return load_config(path)


def test_known_answer_is_hmac_sha256_of_the_normalised_identifier():
    expected = hmac.new(KEY, b"4857773456", hashlib.sha256).hexdigest()[:16]
    out = pseudonymise(pd.Series(["485 777 3456"]), KEY)
    assert out[0] == expected
    assert PSEUDONYM_LENGTH == 16
    full = pseudonymise(pd.Series(["4857773456"]), KEY, length=64)
    assert full[0] == hmac.new(KEY, b"4857773456", hashlib.sha256).hexdigest()


def test_deterministic_for_a_key_and_different_across_keys():
    s = pd.Series(["NT/19/000123", "NT/19/000124", "NT/19/000123"], index=[10, 11, 12])
    a = Pseudonymiser(KEY)(s)
    b = Pseudonymiser(KEY)(s)
    c = Pseudonymiser(b"a different key of enough length")(s)
    pd.testing.assert_series_equal(a, b)
    assert a.index.tolist() == [10, 11, 12]
    assert a[10] == a[12] and a[10] != a[11]
    assert not set(a) & set(c)
    assert a.dtype == "string"
    assert all(len(v) == 16 and int(v, 16) >= 0 for v in a)


def test_normalisation_and_missing_identifiers_stay_missing():
    s = pd.Series([" nt/19/1 ", "NT/19/1", "", None, float("nan")], dtype=object)
    out = Pseudonymiser(KEY)(s)
    assert out[0] == out[1]
    assert out[2:].isna().all()
    # numbers read by a spreadsheet as floats are the same identifier
    assert (Pseudonymiser(KEY)(pd.Series([4857773456.0]))[0]
            == Pseudonymiser(KEY)(pd.Series(["4857773456"]))[0])
    assert normalise_identifier(pd.Series([12.5])).tolist() == ["12.5"]


def test_input_not_mutated():
    s = pd.Series(["A", "B"])
    before = s.copy()
    Pseudonymiser(KEY)(s)
    pd.testing.assert_series_equal(s, before)


def test_short_key_is_refused():
    with pytest.raises(PrivacyError, match="too short"):
        Pseudonymiser(b"short")


def test_repr_never_shows_the_key():
    p = Pseudonymiser(KEY)
    assert KEY.decode() not in repr(p)
    assert "fingerprint" in repr(p)


def test_no_key_is_an_error_naming_the_config_keys(tmp_path, monkeypatch):
    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY", raising=False)
    cfg = _config(tmp_path)
    assert load_key(cfg) is None
    with pytest.raises(PrivacyError) as exc:
        pseudonymiser(cfg, source="police", columns=["Crime Ref"], file="x.csv")
    msg = str(exc.value)
    assert "SNA_PSEUDONYMISATION_KEY" in msg
    assert "privacy.key_env" in msg and "privacy.key_file" in msg
    assert "'police'" in msg and "'Crime Ref'" in msg and "x.csv" in msg


def test_key_from_environment_variable_named_in_config(tmp_path, monkeypatch):
    monkeypatch.setenv("MY_VRU_KEY", "key from the environment, long enough")
    cfg = _config(tmp_path, key_env="MY_VRU_KEY")
    assert load_key(cfg) == b"key from the environment, long enough"
    assert pseudonymiser(cfg).one("x") == pseudonymise(
        pd.Series(["x"]), b"key from the environment, long enough")[0]


def test_key_from_file_first_non_comment_line(tmp_path, monkeypatch):
    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY", raising=False)
    (tmp_path / "key.txt").write_text("# demo key\n  file key of enough length  \nignored\n")
    cfg = _config(tmp_path, key_file="key.txt")
    assert load_key(cfg) == b"file key of enough length"


def test_environment_wins_over_key_file(tmp_path, monkeypatch):
    (tmp_path / "key.txt").write_text("file key of enough length\n")
    monkeypatch.setenv("SNA_PSEUDONYMISATION_KEY", "environment key, long enough")
    cfg = _config(tmp_path, key_file="key.txt")
    assert load_key(cfg) == b"environment key, long enough"


def test_missing_or_empty_key_file_is_an_error(tmp_path, monkeypatch):
    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY", raising=False)
    cfg = _config(tmp_path, key_file="nope.txt")
    with pytest.raises(PrivacyError, match="does not exist") as exc:
        load_key(cfg)
    assert "privacy.key_file" in str(exc.value)
    (tmp_path / "empty.txt").write_text("# only a comment\n\n")
    with pytest.raises(PrivacyError, match="empty"):
        load_key(_config(tmp_path, key_file="empty.txt"))


def test_fingerprint_identifies_the_key_without_revealing_it(tmp_path, monkeypatch):
    monkeypatch.setenv("SNA_PSEUDONYMISATION_KEY", "environment key, long enough")
    cfg = _config(tmp_path)
    fp = key_fingerprint(cfg)
    assert fp == Pseudonymiser(b"environment key, long enough").fingerprint
    assert len(fp) == 16 and "environment" not in fp
    monkeypatch.delenv("SNA_PSEUDONYMISATION_KEY")
    assert key_fingerprint(cfg) is None


def test_identifier_shapes_by_byte_table_are_the_regular_expressions():
    # the shape of a value ([0-9] -> 9, [A-Z] -> A) by a table over the UTF-8 bytes, checked
    # against the two regular-expression passes it replaced: non-ASCII characters (whose bytes
    # are all 0x80 or more) are kept whole, nulls stay null, slices and chunks keep their place
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc

    from sna.privacy import _shape_arrow

    def by_regex(a):
        out = pc.replace_substring_regex(pc.replace_substring_regex(a, r"[0-9]", "9"),
                                         r"[A-Z]", "A")
        return out.combine_chunks() if isinstance(out, pa.ChunkedArray) else out

    rng = np.random.default_rng(0)
    alphabet = list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabz-/ .:_ÉÀß٣Ω𝟘") + ["0️⃣"]
    values = ["".join(rng.choice(alphabet, size=rng.integers(0, 14))) for _ in range(5000)]
    values = [None if i % 17 == 0 else v for i, v in enumerate(values)]
    for typ in (pa.string(), pa.large_string()):
        a = pa.array(values, type=typ)
        for arr in (a, a.slice(3, 2000), pa.chunked_array([a.slice(0, 10), a.slice(10)]),
                    a.slice(0, 0), pa.array([None, None], type=typ), pa.array([""], type=typ)):
            got = _shape_arrow(arr)
            assert got.to_pylist() == by_regex(arr).to_pylist()
            assert got.type == typ
    assert _shape_arrow(pa.array(["NT/19/ 001", "É9z"])).to_pylist() == ["AA/99/ 999", "É9z"]
