"""The output checker's tests for record-level data in a table: identifiers (record or person
ids, pseudonyms, NHS numbers), coordinates of events (named columns, unnamed pairs of precise
latitudes and longitudes, point layers) and one row per event or person.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from ._common import Finding, norm_name

_ID_NAME = re.compile(
    r"^(?:(?:record|person|offender|victim|patient|suspect|participant|client|pupil|child|"
    r"subject|nominal|crime|incident|occurrence|call|cad|attendance|case|referral|arrest|"
    r"custody)_?(?:id|ref|reference|number|no|num|urn)s?"
    r"|(?:nhs|chi|upn|pnc)_?(?:number|no|num|id)|nhsnumber|crn|urn|ucrn|pseudonym|pseudo_id|"
    r"hash|hashed_id)$"
)

_HEX = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64})$")

_NHS_TEXT = re.compile(r"^\d{3}[ -]?\d{3}[ -]?\d{4}$")

_COORD_NAMES = {"x", "y", "easting", "northing", "eastings", "northings", "east", "north",
                "lon", "lng", "long", "longitude", "lat", "latitude", "xcoord", "ycoord",
                "x_coord", "y_coord", "x_coordinate", "y_coordinate", "point_x", "point_y",
                "location_x", "location_y", "grid_x", "grid_y", "bng_x", "bng_y"}

_COORD_SUFFIX = re.compile(r"_(?:x|y|easting|northing|lat|lon|lng|latitude|longitude)$")

_GEO_NAME = re.compile(r"(?:^|_)(?:lat|lon|lng|long|latitude|longitude)$")

_MANY_DISTINCT = 10

def _valid_nhs_number(digits: str) -> bool:
    """Modulus 11 check of a 10-digit NHS number.

    >>> _valid_nhs_number("9434765919"), _valid_nhs_number("9434765918")
    (True, False)
    """
    if len(digits) != 10 or not digits.isdigit():
        return False
    total = sum(int(d) * w for d, w in zip(digits[:9], range(10, 1, -1)))
    check = 11 - total % 11
    if check == 11:
        check = 0
    return check != 10 and check == int(digits[9])

def _mask(value: Any) -> str:
    """An identifier cut short for the findings: at most 4 characters, never half or more."""
    s = str(value)
    return s[: min(4, len(s) // 2)] + "…"

def _decimals(raw: Any) -> int:
    if isinstance(raw, float):
        s = repr(raw)
    else:
        s = str(raw).strip()
    if "e" in s.casefold():
        try:
            s = f"{float(s):.12f}"
        except ValueError:
            return 0
    if "." not in s:
        return 0
    return len(s.split(".", 1)[1].rstrip("0"))

def _lattice_step(values: Sequence[float], unit: float) -> float:
    """The step of the regular lattice the values lie on (0 when none)."""
    ints = sorted({int(round(v / unit)) for v in values})
    g = 0
    for a, b in zip(ints, ints[1:]):
        g = math.gcd(g, b - a)
    return g * unit

def _is_record_level(name: str, nums: list[float], raws: list[Any]) -> str | None:
    distinct = set(nums)
    geo = bool(_GEO_NAME.search(name)) or (
        name in ("x", "y") and nums and all(abs(v) <= 180 for v in nums))
    if geo and any(_decimals(r) >= 4 for r in raws):
        return "longitude/latitude with 4 or more decimals (about 10 m or better)"
    if len(distinct) < _MANY_DISTINCT:
        return None
    step = _lattice_step(list(distinct), 1e-7 if geo else 0.01)
    if step >= (0.001 if geo else 50):
        return None  # a grid of cells, not points
    return f"{len(distinct)} distinct coordinate values, not on a grid"


_EVENT_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2})?)?$|^\d{1,2}/\d{1,2}/"
                         r"\d{2,4}(?:\s+\d{1,2}:\d{2})?$")

def check_record_level(ctx, t, names, rows, parsed) -> None:
    """A table of one row per event or person: a column of day-precise dates with many
    distinct values, or the shape of a quarantine file (the line of a source file and why it
    was set aside)."""
    n = len(rows)
    norm = [norm_name(x) for x in names]
    if {"line", "reason"} <= set(norm) or {"row", "reason"} <= set(norm) or "raw" in norm:
        ctx.findings.append(Finding(t.file, t.name, None, None, None, f"{n} rows",
                                    "record_level", "rows set aside from source files (their "
                                    "line and reason): record-level data", None))
        return
    if n < 10:
        return
    for j, name in enumerate(names):
        vals = [str(r[j]).strip() for r in rows if r[j] is not None and str(r[j]).strip()]
        dates = [v for v in vals if _EVENT_DATE.match(v)]
        if len(vals) >= 10 and len(dates) >= 0.9 * len(vals) and len(set(dates)) >= 0.5 * n:
            ctx.findings.append(Finding(
                t.file, t.name, None, None, name, dates[0], "record_level",
                f"one row per event or person: {len(set(dates))} distinct dates in {n} rows",
                None))
            return

def check_identifiers(ctx, t, rule, names, rows, parsed, row_label):
    n = len(rows)
    for j, name in enumerate(names):
        present = [i for i in range(n) if parsed[i][j][0] != "missing"]
        if not present:
            continue
        if _ID_NAME.match(norm_name(name)):
            i = present[0]
            ctx.findings.append(Finding(
                t.file, t.name, None, None, name, _mask(rows[i][j]), "identifier",
                f"a column of record or person identifiers ({len(present)} values)", rule))
            continue
        hexes, nhs = [], []
        for i in present:
            v = rows[i][j]
            kind, x = parsed[i][j]
            s = str(v).strip()
            if kind == "text" and _HEX.match(s) and re.search(r"[a-fA-F]", s) and re.search(
                    r"\d", s):
                hexes.append(i)
            elif kind == "text" and _NHS_TEXT.match(s) and _valid_nhs_number(
                    re.sub(r"\D", "", s)):
                nhs.append(i)
            elif kind == "num" and x is not None and 1e9 <= x < 1e10 and x % 1 == 0 and (
                    _valid_nhs_number(str(int(x)))):
                nhs.append(i)
        for hits, what in ((hexes, "pseudonymised identifiers (hexadecimal hashes)"),
                           (nhs, "NHS-number-like values (10 digits, valid check digit)")):
            if hits:
                i = hits[0]
                ctx.findings.append(Finding(
                    t.file, t.name, i + 1, row_label(i), name, _mask(rows[i][j]), "identifier",
                    f"{what} in {len(hits)} cell(s), first at row {i + 1}", rule))

def check_coordinates(ctx, t, rule, names, rows, parsed):
    n = len(rows)
    numeric_cols = {}
    for j, name in enumerate(names):
        nums = [parsed[i][j][1] for i in range(n) if parsed[i][j][0] == "num"]
        raws = [rows[i][j] for i in range(n) if parsed[i][j][0] == "num"]
        if not nums or any(parsed[i][j][0] == "text" for i in range(n)):
            continue
        numeric_cols[j] = (nums, raws)
        norm = norm_name(name)
        if norm in _COORD_NAMES or _COORD_SUFFIX.search(norm):
            why = _is_record_level(norm, nums, raws)
            if why:
                ctx.findings.append(Finding(t.file, t.name, None, None, name, raws[0],
                                            "coordinates", f"record-level coordinates: {why}",
                                            rule))
    # unnamed UK longitude / latitude pairs
    def precise(raws):
        return sum(_decimals(r) >= 4 for r in raws) >= 0.8 * len(raws)

    lats = [j for j, (nums, raws) in numeric_cols.items()
            if len(nums) >= 3 and all(49.8 <= v <= 60.9 for v in nums) and precise(raws)]
    lons = [j for j, (nums, raws) in numeric_cols.items()
            if len(nums) >= 3 and all(-8.7 <= v <= 1.8 for v in nums) and precise(raws)]
    if lats and lons:
        for j in (lats[0], lons[0]):
            norm = norm_name(names[j])
            if norm in _COORD_NAMES or _COORD_SUFFIX.search(norm):
                continue  # already reported by name
            ctx.findings.append(Finding(
                t.file, t.name, None, None, names[j], numeric_cols[j][1][0], "coordinates",
                "record-level coordinates: a pair of columns holding precise UK latitudes and "
                "longitudes", rule))
    pts = t.points
    if pts is not None:
        xs, ys, crs = pts
        geo = bool(crs is not None and getattr(crs, "is_geographic", False))
        unit, lim = (1e-7, 0.001) if geo else (0.01, 50)
        coords = {(float(x), float(y)) for x, y in zip(xs, ys)}
        if len(coords) >= _MANY_DISTINCT and (
                _lattice_step([c[0] for c in coords], unit) < lim
                or _lattice_step([c[1] for c in coords], unit) < lim):
            ctx.findings.append(Finding(
                t.file, t.name, None, None, "geometry", f"{len(coords)} points", "coordinates",
                f"record-level coordinates: a point layer with {len(coords)} distinct points, "
                "not on a grid", rule))
