"""The cleaning toolkit: raw frames -> the canonical incidents table, the QualityLog and the
quarantine, for every source family (:mod:`sna.io`) to build on.

Nothing is lost silently: every row read is either **kept** (in the incidents table) or **set
aside** with a reason (in the quarantine, with its file and line), and ``rows read = rows kept
+ rows set aside`` is enforced for every source (:class:`sna.quality.SourceQuality`).

The shared machinery (for every source family)
----------------------------------------------
A source cleaner builds a *working frame* from its raw rows: canonical columns it knows
(``record_id``, ``date``, ``month``, ``category``, ...), the raw columns it wants shown in the
quarantine, ``file`` and ``line``, and a reason column. Then:

1. :func:`start` adds the reason columns (``_reason``, ``_detail``; missing = keep);
2. :func:`set_aside` marks rows with a reason (the first reason given to a row wins);
   helpers: :func:`parse_months` (``bad_month``), :func:`fy_labels`;
3. :func:`place` converts coordinates to British National Grid (zeroed coordinates become
   unknown), places rows with coordinates but no LSOA by point-in-polygon, harmonises LSOA
   vintages, attaches ``district`` and ``partnership``, and sets aside ``no_location`` and
   ``out_of_area`` rows;
4. :func:`finish_source` splits kept and set-aside rows, conforms the kept rows to the
   canonical incidents table (:func:`canonical_incidents`), builds the quarantine rows and the
   :class:`~sna.quality.SourceQuality` entry (months present and missing, share geocoded), and
   checks the reconciliation.

A cleaner for a new source format is a function ``cleaner(name, source, config, geography,
*, progress=None) -> CleanedSource`` in the module of its family, named in the registry of
formats :data:`sna.formats.FORMATS` (or registered with :func:`register_cleaner`);
:func:`sna.io.police_uk.clean_police_uk` is the worked example. Identifiers must be pseudonymised *before* :func:`finish_source`, because the
quarantine and the cache keep what the working frame holds.

Rules every cleaner keeps
-------------------------
- Exact duplicate rows are real records (e.g. two anti-social behaviour reports at the same
  anonymised point in the same month): **never de-duplicate**. Identifiers such as
  data.police.uk ``Crime ID`` repeat and are not keys.
- Unknown stays unknown: a missing flag is ``<NA>``, never ``False``; a zeroed coordinate is
  NaN, never (0, 0).
- Reasons are short snake_case names (:data:`REASONS`); add new ones to :data:`REASONS` with a
  one-line description.

Text columns of the incidents table with few distinct values (:data:`CATEGORICAL_COLUMNS`:
``source``, ``category``, ``lsoa``, ``district``, ``file``...) are pandas categoricals of
strings, to keep millions of rows small; compare them with ``==`` / ``isin`` as usual, and
concatenate incidents tables with :func:`concat_incidents`.

This module imports no source family: they import it.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import ConfigError, GeographyError
from .quality import SourceQuality, empty_quarantine
from .schemas import CATEGORICAL_COLUMNS, INCIDENT_COLUMNS, QUARANTINE_COLUMNS

if TYPE_CHECKING:  # pragma: no cover
    import geopandas as gpd

__all__ = [
    "REASONS",
    "REASON",
    "DETAIL",
    "CATEGORICAL_COLUMNS",
    "CleanedSource",
    "SOURCE_CLEANERS",
    "register_cleaner",
    "get_cleaner",
    "start",
    "set_aside",
    "parse_months",
    "fy_labels",
    "to_bng",
    "place",
    "canonical_incidents",
    "concat_incidents",
    "month_coverage",
    "finish_source",
    "combine_cleaned",
    "all_missing",
    "records_json",
    "as_text",
    "DUPLICATES_NOTE",
]

logger = logging.getLogger("sna")

#: Reasons for setting a row aside -> what they mean. Add new reasons here.
REASONS: dict[str, str] = {
    "out_of_area": "the record's LSOA (or point) is outside the area's LSOAs",
    "no_location": "the record has no coordinates and no LSOA",
    "bad_month": "the month cannot be read as YYYY-MM",
    "month_mismatch": "the record's month is not the month of the file it is in (data.police.uk: "
                      "one file per force and month)",
    "bad_date": "the date cannot be read",
    "unknown_category": "the crime type / category is not known to the definition",
    "bad_value": "a value is impossible (e.g. an age of 250)",
}
#: Name of the reason column of a working frame (missing = keep the row).
REASON = "_reason"
#: Name of the detail column of a working frame (what exactly was wrong).
DETAIL = "_detail"

_WGS84 = "EPSG:4326"
_BNG = "EPSG:27700"


# --------------------------------------------------------------------------------------------
# results and the registry
# --------------------------------------------------------------------------------------------
@dataclass
class CleanedSource:
    """What a source cleaner returns.

    Attributes
    ----------
    incidents
        Kept rows in the canonical incidents shape (may be empty, e.g. for interventions).
    quarantine
        Set-aside rows: ``source, file, line, reason, detail, record`` (record = the row as
        JSON, identifiers pseudonymised).
    quality
        The source's QualityLog entry (reconciled).
    tables
        Other canonical tables the source provides, e.g. ``{"participants": ...,
        "interventions": ...}`` for intervention monitoring returns.
    """

    incidents: pd.DataFrame
    quarantine: pd.DataFrame
    quality: SourceQuality
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)

    def __iter__(self):
        """Unpack as ``incidents, quarantine, quality``."""
        return iter((self.incidents, self.quarantine, self.quality))


Cleaner = Callable[..., CleanedSource]

#: format -> cleaner ``(name, source, config, geography, *, progress=None) -> CleanedSource``,
#: filled on first use from :data:`sna.formats.FORMATS` (or by :func:`register_cleaner`).
SOURCE_CLEANERS: dict[str, Cleaner] = {}


def register_cleaner(format: str, cleaner: Cleaner) -> Cleaner:
    """Register the cleaner of a source format (usable as a decorator factory's target).

    Parameters
    ----------
    format
        The ``format`` value in ``sna.yml`` (e.g. ``ambulance``).
    cleaner
        ``cleaner(name, source, config, geography, *, progress=None) -> CleanedSource``.

    Returns
    -------
    The cleaner, unchanged.

    Examples
    --------
    >>> cleaner = get_cleaner("police_uk")
    >>> register_cleaner("police_uk", cleaner) is cleaner
    True
    """
    SOURCE_CLEANERS[format] = cleaner
    return cleaner


def get_cleaner(format: str) -> Cleaner:
    """The cleaner of a source format, importing its module on first use.

    Looks in :data:`SOURCE_CLEANERS`, then imports the format's module as the registry of
    formats :data:`sna.formats.FORMATS` names it (``police_uk`` -> ``sna.io.police_uk``,
    ``ambulance`` / ``ecds`` -> ``sna.io.health``, ...; a format not in the registry:
    ``sna.io.<format>``), which may register its cleaner at import or define it.

    Raises
    ------
    ConfigError
        When no cleaner exists for the format.

    Examples
    --------
    >>> get_cleaner("police_uk").__name__
    'clean_police_uk'
    """
    if format in SOURCE_CLEANERS:
        return SOURCE_CLEANERS[format]
    import importlib

    from .formats import FORMATS

    spec = FORMATS.get(format)
    module_name, func = (spec.module, spec.cleaner) if spec else (f"sna.io.{format}",
                                                                  f"clean_{format}")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name:
            raise
        module = None
    if format in SOURCE_CLEANERS:
        return SOURCE_CLEANERS[format]
    if module is not None and hasattr(module, func):
        return register_cleaner(format, getattr(module, func))
    raise ConfigError(
        f"source format {format!r} is not supported yet by this version of sna "
        f"(supported: {', '.join(sorted(set(SOURCE_CLEANERS) | {'police_uk'}))})",
        key="sources.*.format",
    )


# --------------------------------------------------------------------------------------------
# reasons
# --------------------------------------------------------------------------------------------
def _reason_dtype() -> pd.CategoricalDtype:
    return pd.CategoricalDtype(list(REASONS))


def start(frame: pd.DataFrame) -> pd.DataFrame:
    """A working frame: ``frame`` plus empty reason columns ``_reason`` and ``_detail``.

    Parameters
    ----------
    frame
        The source's rows (not modified).

    Returns
    -------
    pandas.DataFrame
        Same rows and index, with ``_reason`` (categorical, missing = keep) and ``_detail``
        (string, missing) added if absent.

    Examples
    --------
    >>> w = start(pd.DataFrame({"a": [1, 2]}))
    >>> bool(w["_reason"].isna().all()), list(w.columns)
    (True, ['a', '_reason', '_detail'])
    """
    out = frame.copy(deep=False)
    n = len(out)
    if REASON not in out:
        out[REASON] = pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), dtype=_reason_dtype())
    if DETAIL not in out:
        out[DETAIL] = pd.Series(all_missing(DETAIL, "string", n), index=out.index)
    return out


def as_text(s: pd.Series) -> pd.Series:
    """``s.astype("string")``, the same values and dtype; a categorical of text converts each
    category once and takes them by code (pandas converts every row: about 0.1 s for 240,000
    file paths, against 5 ms).

    Examples
    --------
    >>> as_text(pd.Series(pd.Categorical(["a", None, "b", "a"]))).tolist()
    ['a', <NA>, 'b', 'a']
    """
    if isinstance(s.dtype, pd.CategoricalDtype) and pd.api.types.is_string_dtype(s.cat.categories):
        cat = s.array
        words = pd.array(np.asarray(cat.categories, dtype=object), dtype="string")
        return pd.Series(words.take(cat.codes, allow_fill=True), index=s.index, name=s.name)
    return s.astype("string")


def set_aside(
    frame: pd.DataFrame,
    mask: "pd.Series | np.ndarray",
    reason: str,
    detail: "str | pd.Series | None" = None,
) -> pd.DataFrame:
    """Mark rows to be set aside with ``reason`` (rows already marked keep their first reason).

    Parameters
    ----------
    frame
        A working frame (from :func:`start`); not modified.
    mask
        Boolean, aligned with ``frame``: the rows to set aside.
    reason
        A key of :data:`REASONS` (a new name is added to REASONS with a warning).
    detail
        What exactly was wrong: one text for all rows, or a Series indexed like ``frame``
        (only the values of the marked rows are used, so it may hold just those rows).

    Returns
    -------
    pandas.DataFrame
        A new working frame.

    Examples
    --------
    >>> w = start(pd.DataFrame({"month": ["2019-01", "Jan"]}))
    >>> w = set_aside(w, w["month"] == "Jan", "bad_month", "month 'Jan'")
    >>> w["_reason"].tolist()
    [nan, 'bad_month']
    """
    if REASON not in frame:
        frame = start(frame)
    if reason not in REASONS:
        logger.warning("new set-aside reason %r: add it to sna.clean.REASONS", reason)
        REASONS[reason] = reason.replace("_", " ")
    out = frame.copy(deep=False)
    mask = np.asarray(mask, dtype=bool) & out[REASON].isna().to_numpy()
    if not mask.any():
        return out
    col = out[REASON]
    if reason not in col.cat.categories:
        col = col.cat.add_categories([reason])
    col = col.copy()
    col[mask] = reason
    out[REASON] = col
    if detail is not None:
        det = out[DETAIL].copy()
        if isinstance(detail, pd.Series):
            det[mask] = detail.reindex(out.index[mask]).astype("string").to_numpy()
        else:
            det[mask] = detail
        out[DETAIL] = det
    return out


# --------------------------------------------------------------------------------------------
# months and financial years
# --------------------------------------------------------------------------------------------
def parse_months(values: pd.Series, *, formats: Sequence[str] = ("%Y-%m",)) -> pd.Series:
    """Parse month labels (``YYYY-MM``) to the first day of the month; unreadable -> NaT.

    Fast on categoricals (each distinct label is parsed once).

    Parameters
    ----------
    values
        Month labels.
    formats
        strptime formats tried in turn.

    Returns
    -------
    pandas.Series
        datetime64[ns], same index; NaT where no format fits (set those aside as
        ``bad_month``).

    Examples
    --------
    >>> m = parse_months(pd.Series(["2019-01", "2019-13", None]))
    >>> str(m[0].date()), m.isna().tolist()
    ('2019-01-01', [False, True, True])
    """
    cat = values if isinstance(values.dtype, pd.CategoricalDtype) else values.astype("category")
    labels = pd.Series(cat.cat.categories.astype(str))
    parsed = pd.Series(pd.NaT, index=labels.index, dtype="datetime64[ns]")
    for fmt in formats:
        todo = parsed.isna()
        if not todo.any():
            break
        parsed[todo] = pd.to_datetime(labels[todo].str.strip(), format=fmt, errors="coerce")
    parsed = parsed.dt.to_period("M").dt.to_timestamp().astype("datetime64[ns]")
    lut = np.append(parsed.to_numpy(), np.datetime64("NaT", "ns"))
    return pd.Series(lut[cat.cat.codes.to_numpy()], index=values.index, dtype="datetime64[ns]")


def fy_labels(months: pd.Series) -> pd.Series:
    """Financial-year labels ("2020/21") of month starts; categorical; missing where NaT.

    Examples
    --------
    >>> fy_labels(pd.Series(pd.to_datetime(["2021-03-01", "2021-04-01", None]))).tolist()
    ['2020/21', '2021/22', nan]
    """
    codes, uniq = pd.factorize(months)
    u = pd.DatetimeIndex(uniq)
    start = u.year - (u.month < 4).astype(int)
    labels = [f"{y}/{(y + 1) % 100:02d}" for y in start]
    cats = sorted(set(labels))
    pos = {c: i for i, c in enumerate(cats)}
    lut = np.array([pos[lab] for lab in labels] + [-1], dtype=np.int32)
    return pd.Series(pd.Categorical.from_codes(lut[codes], categories=cats), index=months.index)


def month_coverage(months: pd.Series) -> tuple[list[str], list[str]]:
    """Months present (``YYYY-MM``) and months missing between the first and the last.

    Examples
    --------
    >>> month_coverage(pd.Series(pd.to_datetime(["2019-01-01", "2019-03-01"])))
    (['2019-01', '2019-03'], ['2019-02'])
    """
    m = pd.Series(months).dropna()
    if m.empty:
        return [], []
    present = pd.PeriodIndex(pd.unique(m.dt.to_period("M"))).sort_values()
    full = pd.period_range(present.min(), present.max(), freq="M")
    missing = full.difference(present)
    return [str(p) for p in present], [str(p) for p in missing]


# --------------------------------------------------------------------------------------------
# placing records
# --------------------------------------------------------------------------------------------
def _floats(values) -> np.ndarray:
    arr = np.asarray(values)
    if arr.dtype.kind == "f":
        return arr.astype("float64", copy=False)
    if arr.dtype.kind in "iu":
        return arr.astype("float64")
    return pd.to_numeric(pd.Series(np.asarray(values, dtype=object)), errors="coerce").to_numpy(dtype="float64")


@functools.lru_cache(maxsize=8)
def _transformer_to_bng(src: str):
    """A transformer to British National Grid, made once per source CRS (making one costs
    tens of milliseconds; pyproj transformers are thread-safe)."""
    from pyproj import Transformer

    return Transformer.from_crs(src, _BNG, always_xy=True)


@functools.lru_cache(maxsize=32)
def _crs_facts(crs) -> tuple[int | None, str]:
    """EPSG code and definition of a CRS given as text or a number (a database look-up)."""
    from pyproj import CRS

    src = CRS.from_user_input(crs)
    return src.to_epsg(), src.srs


def to_bng(
    x: "pd.Series | np.ndarray", y: "pd.Series | np.ndarray", crs: "str | int" = _WGS84
) -> tuple[np.ndarray, np.ndarray]:
    """Convert coordinates to British National Grid; zeroed or absent ones become NaN.

    Parameters
    ----------
    x, y
        Longitude / latitude (``crs`` EPSG:4326) or easting / northing in ``crs``.
    crs
        CRS of the input (anything pyproj understands).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        Easting and northing (EPSG:27700) as float64; NaN where the input was missing, (0, 0),
        zero on either axis, or outside Great Britain and Northern Ireland's plausible range.

    Notes
    -----
    data.police.uk zeroes points more than 20 km off their true place, so a zero is
    "unknown", never a place. Each distinct point is transformed once (data.police.uk
    snaps points to a limited set of map points).

    Examples
    --------
    >>> ex, ny = to_bng([-1.15, 0.0, None], [52.95, 0.0, 52.9])
    >>> [round(v) for v in ex[:1]], np.isnan(ex[1:]).tolist()
    ([457208], [True, True])
    """
    xs, ys = _floats(x), _floats(y)
    epsg, srs = _crs_facts(crs) if isinstance(crs, (str, int)) else _crs_facts.__wrapped__(crs)
    bad = np.isnan(xs) | np.isnan(ys) | (xs == 0) | (ys == 0)
    if epsg == 4326:
        bad |= (xs < -11) | (xs > 3) | (ys < 49) | (ys > 61.5)
    out_x = np.full(len(xs), np.nan)
    out_y = np.full(len(ys), np.nan)
    good = ~bad
    if not good.any():
        return out_x, out_y
    gx, gy = xs[good], ys[good]
    if epsg == 27700:
        tx, ty = gx, gy
    else:
        # transform each distinct point once
        key = (np.rint(gx * 1e6).astype(np.int64) << 32) ^ (np.rint(gy * 1e6).astype(np.int64) & 0xFFFFFFFF)
        codes, uniq = pd.factorize(key)
        first = np.zeros(len(uniq), dtype=np.int64)
        first[codes[::-1]] = np.arange(len(codes))[::-1]
        ux, uy = _transformer_to_bng(srs).transform(gx[first], gy[first], inplace=True)  # fresh copies
        tx, ty = np.asarray(ux)[codes], np.asarray(uy)[codes]
    out_x[good], out_y[good] = tx, ty
    # outside the grid's plausible range (a wrong CRS, swapped axes): unknown
    off = (out_x < -1e5) | (out_x > 8e5) | (out_y < -1e5) | (out_y > 1.3e6)
    out_x[off] = np.nan
    out_y[off] = np.nan
    return out_x, out_y


def normalise_code(code: str) -> str | None:
    """An LSOA-like code as written by hand: spaces removed, upper case (`` e01013810`` ->
    ``E01013810``); blank -> None."""
    return "".join(str(code).split()).upper() or None


def _as_codes(s: pd.Series) -> pd.Series:
    """LSOA-like codes as a categorical of normalised strings (:func:`normalise_code`); blank
    -> missing."""
    cat = s if isinstance(s.dtype, pd.CategoricalDtype) else s.astype("string").astype("category")
    cats = [str(c) for c in cat.cat.categories]
    if all(c and normalise_code(c) == c for c in cats):
        return cat.cat.rename_categories(cats) if list(cat.cat.categories) != cats else cat
    return _recategorise(cat, {c: normalise_code(c) for c in cat.cat.categories})


def _recategorise(values: pd.Series, mapping: dict) -> pd.Series:
    """Map the categories of a categorical through ``mapping`` (missing -> NaN)."""
    cats = values.cat.categories
    new = [mapping.get(c) for c in cats]
    uniq = sorted({n for n in new if n is not None and not (isinstance(n, float) and np.isnan(n))})
    idx = {c: i for i, c in enumerate(uniq)}
    lut = np.array([idx.get(n, -1) if n is not None else -1 for n in new] + [-1], dtype=np.int32)
    return pd.Series(pd.Categorical.from_codes(lut[values.cat.codes.to_numpy()], categories=uniq),
                     index=values.index)


def place(
    frame: pd.DataFrame,
    geography: "gpd.GeoDataFrame",
    *,
    lsoa: str | None = "lsoa",
    lon: str | None = None,
    lat: str | None = None,
    x: str | None = None,
    y: str | None = None,
    crs: "str | int" = _BNG,
    best_fit: "str | None" = None,
    keep_unlocated: bool = False,
    source: str | None = None,
) -> pd.DataFrame:
    """Place records in the area: BNG coordinates, LSOA, district, partnership.

    Parameters
    ----------
    frame
        A working frame (see :func:`start`); not modified.
    geography
        The area's geography (:func:`sna.io.geography.load_geography`): ``lsoa``,
        ``district``, ``partnership``, ``geometry`` (EPSG:27700).
    lsoa
        Column of LSOA codes given by the source (None if the source has none).
    lon, lat
        Columns of WGS84 longitude / latitude, or
    x, y
        columns of eastings / northings in ``crs`` (British National Grid by default).
    crs
        CRS of ``x`` / ``y``.
    best_fit
        The LSOA best-fit lookup (path, or ``"bundled"``) used to translate codes of the other
        LSOA vintage; None makes mixed vintages an error.
    keep_unlocated
        Keep rows with no location at all (lsoa, district, partnership missing) instead of
        setting them aside as ``no_location`` (e.g. A&E attendances counted by site).
    source
        Source name for messages.

    Returns
    -------
    pandas.DataFrame
        The working frame with ``lsoa``, ``district``, ``partnership`` (categoricals) and
        ``x``, ``y`` (float64, EPSG:27700, NaN where unknown) set, and rows set aside as
        ``no_location`` (no usable coordinates and no LSOA) or ``out_of_area`` (an LSOA not
        in the area, or a point outside every LSOA of the area).

    Raises
    ------
    GeographyError
        When the source's LSOA codes are of the other vintage than the boundaries (2011 vs
        2021) and no best-fit lookup is configured.

    Notes
    -----
    A given LSOA code is trusted over the coordinates (data.police.uk assigns both from the
    same anonymised map point). Rows with coordinates but no LSOA are placed by
    point-in-polygon (geopandas ``sjoin``, predicate ``within``). Zeroed coordinates are
    unknown (:func:`to_bng`).

    Examples
    --------
    >>> import geopandas as gpd
    >>> from shapely.geometry import box
    >>> geo = gpd.GeoDataFrame({"lsoa": ["E01000001"], "district": ["E09000001"],
    ...     "partnership": ["City"]}, geometry=[box(0, 0, 10, 10)], crs=27700)
    >>> geo.attrs["sna"] = {"lsoa_vintage": 2011}
    >>> w = start(pd.DataFrame({"code": ["E01000001", None, None, "E01999999"],
    ...                         "e": [1.0, 5.0, 0.0, 2.0], "n": [1.0, 5.0, 0.0, 2.0]}))
    >>> out = place(w, geo, lsoa="code", x="e", y="n")
    >>> out["lsoa"].tolist(), out["_reason"].tolist()
    (['E01000001', 'E01000001', nan, nan], [nan, nan, 'no_location', 'out_of_area'])
    """
    out = start(frame)
    n = len(out)
    where = f" in source {source!r}" if source else ""
    # 1. coordinates
    if lon and lat:
        ex, ny = to_bng(out[lon].to_numpy(), out[lat].to_numpy(), _WGS84)
    elif x and y:
        ex, ny = to_bng(out[x].to_numpy(), out[y].to_numpy(), crs)
    else:
        ex, ny = np.full(n, np.nan), np.full(n, np.nan)
    has_xy = ~np.isnan(ex)
    # 2. codes (translated from the other LSOA vintage where a best-fit lookup is given)
    codes, cats, in_area, translated, candidates, original = _area_codes(
        out, lsoa, geography, best_fit, where)
    code_vals = codes.cat.codes.to_numpy()
    has_code = code_vals >= 0
    lut_in = np.append(in_area, False)
    code_in_area = lut_in[code_vals]
    # 3. point in polygon for rows with coordinates and no code
    final = pd.Series(pd.Categorical.from_codes(
        np.where(code_in_area, code_vals, -1), categories=cats), index=out.index)
    # (records translated from the other vintage are re-placed by their point when they have one)
    pip = has_xy & (~has_code | translated)
    final, pip_found, pip_outside = _point_in_polygon(
        final, ex, ny, pip, geography, cats, translated, candidates, original, where)
    # 4. reasons
    no_loc = ~has_code & ~has_xy
    out_area = (has_code & ~code_in_area & ~pip_found) | pip_outside
    if not keep_unlocated:
        out = set_aside(out, no_loc, "no_location")
    if out_area.any():
        sub = codes[out_area]
        detail = ("LSOA " + as_text(sub)).fillna("point outside the area's LSOAs")
        out = set_aside(out, out_area, "out_of_area", detail)
    # 5. district and partnership
    final = final.cat.remove_unused_categories()
    # the look-ups of the LSOAs present only: a call's cost grows with its rows, not with the
    # area (one call per file on a national geography, sna.dataset)
    present = [str(c) for c in final.cat.categories]
    g = geography.set_index(geography["lsoa"].astype(str)).reindex(present)
    out["lsoa"] = final
    out["district"] = _recategorise(final, dict(zip(present, g["district"].astype(str))))
    out["partnership"] = _recategorise(final, dict(zip(present, g["partnership"].astype(str))))
    out["x"] = ex
    out["y"] = ny
    return out


def _area_codes(out: pd.DataFrame, lsoa: str | None, geography, best_fit, where: str):
    """The rows' LSOA codes as a categorical, translated to the boundaries' vintage by the
    best-fit lookup where they are of the other one; with the categories, which are in the
    area, which rows were translated from a code with several candidates (and those
    candidates), and the codes as given."""
    n = len(out)
    area_codes = pd.Index(geography["lsoa"].astype(str))
    if lsoa and lsoa in out:
        codes = _as_codes(out[lsoa])
    else:
        codes = pd.Series(pd.Categorical([None] * n, categories=[]), index=out.index)
    cats = pd.Index(codes.cat.categories.astype(str))
    # (hashed as plain objects: an Arrow-backed isin walks the area's codes in Python)
    area_set = area_codes.to_numpy(dtype=object)
    in_area = pd.Index(cats.to_numpy(dtype=object), dtype=object).isin(area_set)
    vintage = geography.attrs.get("sna", {}).get("lsoa_vintage", 2011)
    repl: dict[str, str] = {}
    if (~in_area).any():
        from .io.geography import harmonise_lsoa_codes, vintage_mismatch

        outside = list(cats[~in_area])
        mism = vintage_mismatch(outside, vintage, area_set)  # (plain objects: hashed fast)
        if mism:
            if best_fit is None:
                other = 2021 if vintage == 2011 else 2011
                ex_codes = ", ".join(sorted(mism)[:3])
                files = ""
                if "file" in out:
                    sample = out.loc[codes.isin(list(mism)).to_numpy(), "file"].astype(str).unique()[:2]
                    files = "; ".join(sample)
                raise GeographyError(
                    f"mixed LSOA vintages{where}: the boundaries use {vintage} LSOAs but "
                    f"{len(mism)} code(s) of {other} LSOAs in the area appear (e.g. {ex_codes}). "
                    f"Use boundaries of the same vintage, or set geography.lsoa_best_fit "
                    f"(a best-fit lookup file, or 'bundled' for the ONS 2011-2021 lookup) in sna.yml "
                    f"to harmonise them",
                    file=files or None,
                    key="geography.lsoa_best_fit",
                )
            repl = harmonise_lsoa_codes(outside, vintage, area_codes, best_fit)
            logger.info("%d LSOA code(s)%s translated to %s LSOAs by best fit", len(repl), where, vintage)
    translated = np.zeros(n, dtype=bool)  # translated from a code with several candidates
    candidates: dict[str, list[str]] = {}
    original = None
    if repl:
        candidates = {c: t for c, t in mism.items() if len(t) > 1}
        translated = codes.isin(list(candidates)).to_numpy()
        original = codes.astype(object).to_numpy()
        codes = _recategorise(codes, {c: repl.get(c, c) for c in cats})
        cats = pd.Index(codes.cat.categories.astype(str))
        in_area = pd.Index(cats.to_numpy(dtype=object), dtype=object).isin(area_set)
    return codes, cats, in_area, translated, candidates, original


def _point_in_polygon(final, ex, ny, pip, geography, cats, translated, candidates, original,
                      where: str):
    """Place the ``pip`` rows by their point (geopandas ``sjoin``, ``within``): the LSOAs,
    which rows were placed, which fell outside every LSOA of the area (a translated row whose
    point settles none of its candidates is neither)."""
    import geopandas as gpd
    from shapely import points

    n = len(final)
    pip_outside = np.zeros(n, dtype=bool)
    pip_found = np.zeros(n, dtype=bool)
    if pip.any():
        pts = gpd.GeoDataFrame({"_row": np.flatnonzero(pip)}, geometry=points(ex[pip], ny[pip]), crs=_BNG)
        joined = gpd.sjoin(pts, geography[["lsoa", "geometry"]], how="left", predicate="within")
        joined = joined.drop_duplicates("_row").set_index("_row")["lsoa"]
        found = joined.dropna().astype(str)
        if translated.any():
            # an ambiguous translation is settled by the point only within its candidates
            rows = found.index.to_numpy()
            ok = np.array([not translated[r] or f in candidates.get(original[r], ())
                           for r, f in zip(rows, found.to_numpy())], dtype=bool)
            found = found[ok]
        logger.info("%d record(s)%s placed by point-in-polygon", len(found), where)
        final = final.cat.add_categories(sorted(set(found) - set(cats)))
        vals = final.copy()
        vals.iloc[found.index.to_numpy()] = found.to_numpy()
        final = vals
        pip_found[found.index.to_numpy()] = True
        not_found = joined[joined.isna()].index.to_numpy()
        pip_outside[not_found[~translated[not_found]]] = True
    return final, pip_found, pip_outside


# --------------------------------------------------------------------------------------------
# canonical shape
# --------------------------------------------------------------------------------------------
def _to_category(s: pd.Series) -> pd.Series:
    if isinstance(s.dtype, pd.CategoricalDtype):
        cats = s.cat.categories
        if len(cats) and not all(isinstance(c, str) for c in cats):
            s = s.cat.rename_categories([str(c) for c in cats])
        return s.cat.remove_unused_categories()
    return s.astype("string").astype("category")


def all_missing(col: str, dtype: str, n: int):
    """An array of n missing values of a canonical column (built without Python loops)."""
    if col in CATEGORICAL_COLUMNS:
        return pd.Categorical.from_codes(np.full(n, -1, dtype=np.int8), categories=pd.Index([], dtype="str"))
    if dtype == "float64":
        return np.full(n, np.nan)
    if dtype.startswith("datetime64"):
        return np.full(n, np.datetime64("NaT", "ns"))
    if dtype == "boolean":
        return pd.arrays.BooleanArray(np.zeros(n, dtype=bool), np.ones(n, dtype=bool))
    if dtype in ("Int64", "Int32"):
        return pd.arrays.IntegerArray(np.zeros(n, dtype=dtype.lower()), np.ones(n, dtype=bool))
    if dtype == "Float64":
        return pd.arrays.FloatingArray(np.zeros(n), np.ones(n, dtype=bool))
    if dtype == "string":
        import pyarrow as pa

        return pd.array(pa.nulls(n, pa.large_string()), dtype=pd.StringDtype("pyarrow"))
    return pd.array([pd.NA] * n, dtype=dtype)


def canonical_incidents(frame: pd.DataFrame, *, source: str | None = None,
                        source_format: str | None = None) -> pd.DataFrame:
    """Conform a frame to the canonical incidents table.

    Parameters
    ----------
    frame
        Kept rows with any subset of the canonical columns (others are dropped).
    source, source_format
        Filled in when given.

    Returns
    -------
    pandas.DataFrame
        Exactly the columns of :data:`sna.schemas.INCIDENT_COLUMNS`, in order, with their
        dtypes, except the :data:`CATEGORICAL_COLUMNS`, which are categoricals of strings.
        Missing columns are all unknown (``<NA>`` / NaN). The index is reset.

    Examples
    --------
    >>> inc = canonical_incidents(pd.DataFrame({"category": ["Robbery"]}), source="police")
    >>> inc.loc[0, "source"], str(inc["category"].dtype), pd.isna(inc.loc[0, "knife"])
    ('police', 'category', True)
    """
    n = len(frame)
    cols: dict[str, pd.Series] = {}
    base = frame.reset_index(drop=True)
    for col, (dtype, _) in INCIDENT_COLUMNS.items():
        if col == "source" and source is not None:
            s = pd.Series(pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[source]))
        elif col == "source_format" and source_format is not None:
            s = pd.Series(pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[source_format]))
        elif col in base:
            s = base[col]
            if col in CATEGORICAL_COLUMNS:
                s = _to_category(s)
            elif dtype.startswith("datetime64"):
                s = pd.to_datetime(s).astype(dtype)
            elif dtype == "boolean" and s.dtype == object:
                s = s.astype("boolean")
            else:
                s = s.astype(dtype)
        else:
            s = pd.Series(all_missing(col, dtype, n))
        cols[col] = s.reset_index(drop=True)
    return pd.DataFrame(cols)


def concat_incidents(frames: Iterable[pd.DataFrame], *, consume: bool = False) -> pd.DataFrame:
    """Concatenate incidents tables, keeping categorical columns categorical.

    With ``consume=True`` each input's columns are dropped as soon as they are copied, so
    memory peaks at the result plus one column (the inputs are left empty).

    Examples
    --------
    >>> a = canonical_incidents(pd.DataFrame({"category": ["Robbery"]}), source="police")
    >>> b = canonical_incidents(pd.DataFrame({"category": ["Assault"]}), source="ambulance")
    >>> both = concat_incidents([a, b])
    >>> both["source"].tolist(), str(both["category"].dtype)
    (['police', 'ambulance'], 'category')
    """
    frames = [f for f in frames if f is not None]
    if not frames:
        return canonical_incidents(pd.DataFrame())
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    aligned = {}
    for col in list(frames[0].columns):
        series = [f[col].reset_index(drop=True) for f in frames]
        if consume:
            for f in frames:
                del f[col]
        if all(isinstance(s.dtype, pd.CategoricalDtype) for s in series):
            aligned[col] = _concat_categoricals(series)
        else:
            aligned[col] = pd.concat(series, ignore_index=True)
    return pd.DataFrame(aligned)


def _concat_categoricals(series: list[pd.Series]) -> pd.Series:
    """Categorical series concatenated into one whose categories are the sorted union of
    theirs (as strings): each series' codes go through a look-up table from its own
    categories to the union's. Tables that share their categories (every per-file table of
    a source has the area's LSOAs, say) share one look-up table, so adding up thousands of
    them costs one pass over their codes."""
    names: list[list[str]] = []   # the distinct sets of categories, as strings
    known: dict[tuple, list[tuple[pd.Index, int]]] = {}  # (length, first, last) -> sets
    which: list[int] = []
    for s in series:
        cats = s.cat.categories
        key = (len(cats), cats[0], cats[-1]) if len(cats) else (0,)
        for seen, i in known.get(key, ()):
            if cats is seen or cats.equals(seen):
                break
        else:
            i = len(names)
            names.append([str(c) for c in cats])
            known.setdefault(key, []).append((cats, i))
        which.append(i)
    union = pd.Index(sorted(set().union(*names)), dtype="str")
    kind = np.int16 if len(union) < 2**15 else np.int32
    # code -1 (missing) takes the -1 appended at the end of each look-up table
    luts = [np.append(union.get_indexer(n), -1).astype(kind) for n in names]
    codes = np.empty(sum(len(s) for s in series), dtype=kind)
    at = 0
    for i, s in zip(which, series):  # written in place: no per-table copies to concatenate
        np.take(luts[i], s.cat.codes.to_numpy(), out=codes[at:at + len(s)])
        at += len(s)
    dtype = pd.CategoricalDtype(union)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), name=series[0].name)


# --------------------------------------------------------------------------------------------
# finishing a source
# --------------------------------------------------------------------------------------------
def records_json(frame: pd.DataFrame) -> pd.Series:
    if frame.empty:
        return pd.Series([], dtype="string")
    conv = frame.copy()
    for c in conv.columns:
        if isinstance(conv[c].dtype, pd.CategoricalDtype):
            conv[c] = conv[c].astype(object)
        elif pd.api.types.is_datetime64_any_dtype(conv[c]):
            conv[c] = conv[c].dt.strftime("%Y-%m-%d %H:%M:%S").astype(object)
    text = conv.to_json(orient="records", lines=True, force_ascii=False, date_format="iso")
    return pd.Series(text.rstrip("\n").split("\n"), index=frame.index, dtype="string")


def finish_source(
    name: str,
    format: str,
    frame: pd.DataFrame,
    *,
    record_columns: Sequence[str] | None = None,
    files: Sequence[str] = (),
    duplicate_rows: int | None = None,
    notes: Sequence[str] = (),
    records: str | None = None,
) -> CleanedSource:
    """Split a working frame into kept incidents and quarantine, and log its quality.

    Parameters
    ----------
    name
        The source's name in the config (``police``).
    format
        Its format (``police_uk``, ``ambulance``...).
    frame
        The working frame, one row per row read: canonical columns, raw columns, ``file``,
        ``line`` and ``_reason`` / ``_detail`` (:func:`start`, :func:`set_aside`,
        :func:`place`). Identifiers must already be pseudonymised.
    record_columns
        Columns written as JSON in the quarantine's ``record`` (default: every column that is
        not canonical, not private ``_...``, not ``file`` / ``line``).
    files
        The input files (for the QualityLog).
    duplicate_rows
        Rows identical to an earlier row (kept: real records), if the reader counted them.
    notes
        Remarks for the QualityLog.
    records
        A column of ``frame`` already holding each row's record as JSON (e.g. written where
        the rows were read), used instead of writing ``record_columns``.

    Returns
    -------
    CleanedSource
        ``incidents`` (kept rows, :func:`canonical_incidents`), ``quarantine`` (``source,
        file, line, reason, detail, record``), ``quality`` (rows read / kept / set aside by
        reason, months present and missing among kept rows, share of kept rows with
        coordinates, files, duplicate rows); rows read = kept + set aside is checked.

    Examples
    --------
    >>> w = start(pd.DataFrame({"month": pd.to_datetime(["2019-01-01", "2019-03-01", None]),
    ...                         "category": ["Robbery"] * 3, "file": "f.csv", "line": [2, 3, 4],
    ...                         "Raw": ["a", "b", "c"]}))
    >>> w = set_aside(w, w["month"].isna(), "bad_month")
    >>> res = finish_source("police", "police_uk", w)
    >>> q = res.quality
    >>> q.rows_read, q.rows_kept, q.set_aside, q.missing_months
    (3, 2, {'bad_month': 1}, ['2019-02'])
    >>> res.quarantine.loc[0, ["reason", "record"]].tolist(), int(res.quarantine.loc[0, "line"])
    (['bad_month', '{"Raw":"c"}'], 4)
    """
    if REASON not in frame:
        frame = start(frame)
    reason = frame[REASON]
    aside = reason.notna().to_numpy()
    kept = frame.loc[~aside, [c for c in frame.columns if c in INCIDENT_COLUMNS]]
    rest = frame.loc[aside]
    if record_columns is None:
        record_columns = [c for c in frame.columns if c not in INCIDENT_COLUMNS
                          and not str(c).startswith("_") and c not in ("file", "line")]
    quarantine = empty_quarantine()
    if len(rest):
        q = pd.DataFrame({
            "source": name,
            "file": as_text(rest["file"]) if "file" in rest else pd.NA,
            "line": rest["line"] if "line" in rest else pd.NA,
            "reason": as_text(rest[REASON]),
            "detail": rest[DETAIL] if DETAIL in rest else pd.NA,
            "record": (rest[records] if records is not None
                       else records_json(rest[list(record_columns)]) if record_columns else pd.NA),
        })
        quarantine = pd.DataFrame({c: q[c].astype(d) for c, (d, _) in QUARANTINE_COLUMNS.items()}).reset_index(drop=True)
    incidents = canonical_incidents(kept, source=name, source_format=format)
    months, missing = month_coverage(incidents["month"])
    share = float(incidents["x"].notna().mean()) if len(incidents) else float("nan")
    counts = rest[REASON].value_counts()
    quality = SourceQuality(
        name=name,
        format=format,
        rows_read=int(len(frame)),
        rows_kept=int(len(incidents)),
        set_aside={str(k): int(v) for k, v in counts.items() if v},
        months=months,
        missing_months=missing,
        share_geocoded=share,
        files=[str(f) for f in files],
        notes=list(notes),
    )
    if duplicate_rows is not None:
        if hasattr(quality, "duplicate_rows"):
            quality.duplicate_rows = int(duplicate_rows)
        quality.notes.append(f"{int(duplicate_rows)} {DUPLICATES_NOTE}")
    quality.check()
    return CleanedSource(incidents=incidents, quarantine=quarantine, quality=quality)


DUPLICATES_NOTE = "row(s) identical to an earlier row: kept (real records)"


def combine_cleaned(parts: Sequence[CleanedSource]) -> CleanedSource:
    """Combine the results of cleaning one source in batches (streaming) into one.

    Parameters
    ----------
    parts
        :func:`finish_source` results of the same source, in file order (their incidents
        tables are emptied as they are combined, to save memory).

    Returns
    -------
    CleanedSource
        Incidents and quarantines concatenated (categories unified); quality summed: rows
        read, kept, set aside by reason, duplicate rows; months present and missing over all
        parts; share geocoded weighted by rows kept; files in order; ``tables`` concatenated.

    Examples
    --------
    >>> w = start(pd.DataFrame({"month": pd.to_datetime(["2019-01-01", "2019-03-01"]),
    ...                         "category": ["A", "B"], "file": "f", "line": [2, 3]}))
    >>> a = finish_source("s", "ecds", w.iloc[:1], duplicate_rows=0)
    >>> b = finish_source("s", "ecds", set_aside(w.iloc[1:], [True], "bad_value"), duplicate_rows=1)
    >>> q = combine_cleaned([a, b]).quality
    >>> q.rows_read, q.rows_kept, q.set_aside, q.months, q.duplicate_rows
    (2, 1, {'bad_value': 1}, ['2019-01'], 1)
    """
    parts = list(parts)
    if not parts:
        raise ValueError("nothing to combine")
    if len(parts) == 1:
        return parts[0]
    first = parts[0].quality
    incidents = concat_incidents([p.incidents for p in parts], consume=True)
    quarantines = [p.quarantine for p in parts if len(p.quarantine)]
    quarantine = pd.concat(quarantines, ignore_index=True) if quarantines else empty_quarantine()
    set_aside_counts: dict[str, int] = {}
    for p in parts:
        for k, v in p.quality.set_aside.items():
            set_aside_counts[k] = set_aside_counts.get(k, 0) + int(v)
    months, missing = month_coverage(incidents["month"])
    kept = sum(p.quality.rows_kept for p in parts)
    geocoded = sum(p.quality.rows_kept * (0 if p.quality.share_geocoded != p.quality.share_geocoded
                                          else p.quality.share_geocoded) for p in parts)
    dups = [p.quality.duplicate_rows for p in parts if p.quality.duplicate_rows is not None]
    notes = list(dict.fromkeys(n for p in parts for n in p.quality.notes if DUPLICATES_NOTE not in n))
    quality = SourceQuality(
        name=first.name, format=first.format,
        rows_read=sum(p.quality.rows_read for p in parts), rows_kept=kept,
        set_aside=set_aside_counts, months=months, missing_months=missing,
        share_geocoded=(geocoded / kept) if kept else float("nan"),
        files=[f for p in parts for f in p.quality.files], notes=notes,
    )
    if dups:
        quality.duplicate_rows = int(sum(dups))
        quality.notes.append(f"{quality.duplicate_rows} {DUPLICATES_NOTE}")
    quality.check()
    tables: dict[str, list[pd.DataFrame]] = {}
    for p in parts:
        for k, v in (p.tables or {}).items():
            tables.setdefault(k, []).append(v)
    return CleanedSource(incidents=incidents, quarantine=quarantine, quality=quality,
                         tables={k: pd.concat(v, ignore_index=True) for k, v in tables.items()})
