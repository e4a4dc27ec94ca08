#!/usr/bin/env python
"""Write the README's performance table from benchmarks/results.json (numbers come from code).

Usage: python benchmarks/readme_table.py [--check]

The table sits in README.md between ``<!-- bench:start -->`` and ``<!-- bench:end -->``;
``--check`` exits 1 when it differs from what results.json gives (``tests/test_benchmarks.py``
runs the same check). ``benchmarks/run.py`` calls :func:`update` after a full run.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
README = HERE.parent / "README.md"
RESULTS = HERE / "results.json"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def _s(x: float) -> str:
    return f"{x:.1f} s" if x >= 1 else f"{x:.2f} s"


def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GB"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def render(r: dict) -> str:
    """The markdown block (a sentence on the machine, then the table) for one results.json."""
    env = r["environment"]
    load = ", ".join(f"{x:.1f}" for x in env.get("load_average", []))
    lines = [
        f"Measured {r['when'][:10]} with {_commands(r)} on "
        f"{env['cpu_count']} cores (Python {env['python']}, pandas {env['pandas']}; load average "
        f"at the start {load}); medians of {r['ingest']['repeat']} interleaved rounds. Every "
        "figure below is written from `benchmarks/results.json` by "
        "`benchmarks/readme_table.py`.",
        "",
        "| benchmark | sna | compared with | ratio | target | holds? |",
        "|---|---|---|---|---|---|",
    ]
    ing = r["ingest"]
    c, ratios, targets = ing["contenders"], ing["ratios"], ing["targets"]
    sna, naive, duck = c["sna"], c["naive"], c["duckdb"]
    rows = f"{ing['data']['rows']:,}"
    lines += [
        f"| ingest, {rows} rows (synthetic, {ing['data']['files']} files): read, validate, clean, "
        "place, reconcile, aggregate to LSOA × month × category "
        f"| {_s(sna['seconds'])}, peak {_gb(sna['peak_mb'])} "
        f"| naive `pd.concat(read_csv)` + group-by (cleans nothing): {_s(naive['seconds'])}, "
        f"{_gb(naive['peak_mb'])} | {ratios['sna_over_naive']:.2f}× naive | ≤ 1.5× "
        f"| {_yes(targets['sna_within_1.5x_naive'])} |",
        f"| same | {_s(sna['seconds'])} | DuckDB read + group-by: {_s(duck['seconds'])}, "
        f"{_gb(duck['peak_mb'])} | {ratios['sna_over_duckdb']:.2f}× DuckDB | ≤ 3× "
        f"| {_yes(targets['sna_within_3x_duckdb'])} |",
        f"| same, peak memory of the streaming reader | {_gb(sna['peak_mb'])} | — | — | < 1.5 GB "
        f"| {_yes(targets['sna_peak_under_1.5GB'])} |",
    ]
    if "sna-dask" in c:
        d = c["sna-dask"]
        lines.append(
            f"| same, Dask engine (LocalCluster on this machine) | {_s(d['seconds'])}, workers' "
            f"peak {_gb(d['workers_peak_mb'])} | the pandas engine: {_s(sna['seconds'])} "
            f"| {ratios['sna_dask_over_sna']:.2f}× | same tables (tested) | — |")
    h = r["hotspot"]
    m, hr, ht = h["medians_s"], h["ratios"], h["targets"]
    n, perms = f"{h['data']['polygons']:,}", h["permutations"]
    lines += [
        f"| Gi*, {perms} permutations, {n} polygons | {_s(m['gistar_perm'])} "
        f"| esda `G_Local` direct: {_s(m['esda_gistar_perm'])} "
        f"| {hr['gistar_perm_sna_over_esda']:.2f}× | ≤ 1.2×, < 20 s "
        f"| {_yes(ht['gistar_perm_within_1.2x_esda'] and ht['gistar_perm_under_20s'])} |",
        f"| local Moran, {perms} permutations, {n} polygons | {_s(m['moran_perm'])} "
        f"| esda `Moran_Local` direct: {_s(m['esda_moran_perm'])} "
        f"| {hr['moran_perm_sna_over_esda']:.2f}× | ≤ 1.2×, < 20 s "
        f"| {_yes(ht['moran_perm_within_1.2x_esda'] and ht['moran_perm_under_20s'])} |",
        f"| Gi*, analytical, {n} polygons | {_s(m['gistar_analytical'])} "
        f"| esda: {_s(m['esda_gistar_analytical'])} "
        f"| {hr['gistar_analytical_sna_over_esda']:.2f}× | < 2 s "
        f"| {_yes(ht['gistar_analytical_under_2s'])} |",
    ]
    b = r["batch"]
    run, pm = b["sna_run"], b["papermill_one_by_one"]
    t = run["timings"]
    ratio = b["ratios"]["papermill_over_sna_run"]
    lines += [
        f"| demo year's batch, `sna run` from a cold cache (prepare {_s(t['prepare'])} + chapters "
        f"{_s(t['chapters'])} + assembly {_s(t['assemble'])}) | {_s(run['seconds'])} "
        f"| the ten notebooks one by one with the papermill CLI: {_s(pm['seconds'])} "
        f"| {ratio:.2f}× faster | < 60 s and ≥ 2× faster "
        f"| {_yes(b['targets']['sna_run_under_60s'] and b['targets']['sna_run_2x_faster_than_papermill'])} |",
        f"| same | {_s(run['seconds'])} | — | — | < 90 s | {_yes(run['seconds'] < 90)} |",
    ]
    return "\n".join(lines)


def _commands(r: dict) -> str:
    """Which command produced which section: "`cmd`" or "`cmd` (ingest: `cmd2`)"."""
    by: dict[str, list[str]] = {}
    for section, cmd in (r.get("commands") or {}).items():
        by.setdefault(cmd.strip(), []).append(section)
    if not by:
        return "`python benchmarks/run.py`"
    ranked = sorted(by.items(), key=lambda kv: -len(kv[1]))
    text = f"`{ranked[0][0]}`"
    if len(ranked) > 1:
        text += " (" + "; ".join(f"{', '.join(secs)}: `{cmd}`" for cmd, secs in ranked[1:]) + ")"
    return text


def _commanded(r: dict) -> dict:
    return r


def expected_block(results: Path = RESULTS) -> str:
    return render(_commanded(json.loads(Path(results).read_text(encoding="utf-8"))))


def current_block(readme: Path = README) -> str:
    text = Path(readme).read_text(encoding="utf-8")
    if START not in text or END not in text:
        raise SystemExit(f"{readme}: no {START} ... {END} block")
    return text.split(START, 1)[1].split(END, 1)[0].strip("\n")


def update(results: Path = RESULTS, readme: Path = README) -> bool:
    """Rewrite the README block; True if it changed."""
    text = Path(readme).read_text(encoding="utf-8")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    new = f"{head}{START}\n{expected_block(results)}\n{END}{tail}"
    Path(readme).write_text(new, encoding="utf-8")
    return new != text


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if "--check" in argv:
        if current_block() != expected_block():
            print("README.md's performance table differs from benchmarks/results.json: run "
                  "python benchmarks/readme_table.py", file=sys.stderr)
            return 1
        return 0
    changed = update()
    print("README.md performance table " + ("updated" if changed else "unchanged"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
