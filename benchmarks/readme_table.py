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

#: What each ingest ratio compares, in the README's words.
RATIO_NAMES = {
    "sna_over_naive": "sna / naive",
    "sna_over_pyarrow": "sna / pyarrow bare parse",
    "sna_over_duckdb": "sna / DuckDB",
    "sna_dask_over_sna": "Dask engine / pandas engine",
    "sna_dask_500mb_over_sna": "Dask on 500MB workers / pandas engine",
}


def _s(x: float) -> str:
    return f"{x:.1f} s" if x >= 1 else f"{x:.2f} s"


def _gb(mb: float) -> str:
    return f"{mb / 1024:.2f} GiB"


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _t(v: dict) -> str:
    """A contender's median with the spread of its rounds: ``17.1 s (16.0–17.8)``."""
    text = _s(v["seconds"])
    if "min_s" in v and "max_s" in v:
        text += f" ({_num(v['min_s'])}–{_num(v['max_s'])})"
    return text


def _num(x: float) -> str:
    return f"{x:.1f}" if x >= 1 else f"{x:.2f}"


def _med(m: dict, spread: dict | None, key: str) -> str:
    """A hot-spot contender's median with its rounds' spread."""
    text = _s(m[key])
    sp = (spread or {}).get(key)
    if sp:
        text += f" ({_num(sp['min'])}–{_num(sp['max'])})"
    return text


def _ratio(value: float, spread: dict | None, what: str) -> str:
    """``1.35× naive (rounds 1.20–1.46)``."""
    text = f"{value:.2f}× {what}".rstrip()
    if spread:
        text += f" (rounds {spread['min']:.2f}–{spread['max']:.2f})"
    return text


def _load(section: dict) -> str:
    ld = section.get("load")
    if not ld:
        return ""
    text = f"{ld['before'][0]:.1f} → {ld['after'][0]:.1f}" if ld.get("before") and ld.get("after") else ""
    if text and ld.get("others_cores") is not None:  # how much of it was not the run's own
        text += f", other processes {ld['others_cores']:.2f} cores"
    return text


def _scale_rows(sc: dict | None, sna: dict | None) -> list[str]:
    """The results-only path's rows (``run.py --only scale``), when measured."""
    if not sc or not sc.get("contenders"):
        return []
    out, t = [], sc.get("targets", {})

    def busy_of(v: dict) -> str:  # a run kept from an earlier --only scale has its own load
        sec = {"load": v["section_load"]} if v.get("section_load") else sc
        return " (machine busy: load " + _load(sec) + ")" if (sec.get("load") or {}).get("busy") else ""

    v = sc["contenders"].get("sna-dataset-500mb")
    if v:
        same = t.get("one_year_same_counts_as_sna")
        out.append(
            f"| same, results-only (`sna.load_dataset`) on {v.get('workers', 2)} workers of "
            f"{v.get('memory_limit', '500MB')}: incidents and quarantine written as Parquet by "
            f"the workers, only counts back{busy_of(v)} | {_t(v)}, driver's peak {_gb(v['peak_mb'])}, "
            f"workers' peak {_gb(v['workers_peak_mb'])} | the pandas engine, all rows in one "
            f"frame: {_t(sna) + ', peak ' + _gb(sna['peak_mb']) if sna else '—'} | — "
            f"| driver < 2 GiB, same counts "
            f"| {_yes(t.get('one_year_driver_peak_under_2GB', False) and bool(same))} |")
    v = sc["contenders"].get("sna-dataset-scale")
    if v:
        d = sc["data"]["many_years"]
        out.append(
            f"| {d['months']} months x {d['forces']} forces, {v['rows']:,} rows (synthetic, "
            f"resampled from the sample; {d['files']:,} files, {d['bytes'] / 2**30:.1f} GiB), "
            f"results-only on the same workers{busy_of(v)} | {_t(v)}, driver's peak "
            f"{_gb(v['peak_mb'])}, workers' peak {_gb(v['workers_peak_mb'])} | — | — "
            f"| driver < 2 GiB, rows read = kept + set aside "
            f"| {_yes(t.get('many_years_driver_peak_under_2GB', False) and t.get('many_years_rows_read_equal_kept_plus_set_aside', False))} |")
    return out


def render(r: dict) -> str:
    """The markdown block (a sentence on the machine, then the table) for one results.json."""
    env = r["environment"]
    ing, h, b = r["ingest"], r["hotspot"], r["batch"]
    loads = [f"{name} {_load(sec)}" for name, sec in (("ingest", ing), ("hot spots", h),
                                                      ("batch", b)) if _load(sec)]
    if loads:
        load_text = ("load average (1 min) before → after each section: " + "; ".join(loads)
                     + f", on {env['cpu_count']} cores")
    else:
        load = ", ".join(f"{x:.1f}" for x in env.get("load_average", []))
        load_text = f"load average at the start {load}"
    when = sorted({str(sec.get("when", r["when"]))[:10] for sec in (ing, h, b)})
    lines = [
        f"Measured {' and '.join(when)} with {_commands(r)} on "
        f"{env['cpu_count']} cores (Python {env['python']}, pandas {env['pandas']}; "
        f"{load_text}); medians of {ing['repeat']} interleaved rounds, with the fastest and "
        "slowest round in brackets, and each ratio with the smallest and largest per-round "
        "ratio. Every figure below is written from `benchmarks/results.json` by "
        "`benchmarks/readme_table.py`.",
    ]
    busy = [name for name, sec in (("ingest", ing), ("hot spots", h), ("batch", b))
            if (sec.get("load") or {}).get("busy")]
    if busy:
        lines += ["", f"**The machine was busy** (load average above its cores) during: "
                      f"{', '.join(busy)}; those seconds are less reliable than the ratios. "
                      "The load average counts the run's own processes too: where the other "
                      "processes' cores are given, they are the load that was not the run's."]
    lines += [
        "",
        "| benchmark | sna | compared with | ratio | target | holds? |",
        "|---|---|---|---|---|---|",
    ]
    c, ratios, targets = ing["contenders"], ing["ratios"], ing["targets"]
    rsp = ing.get("ratio_spread") or {}
    sna, naive, duck = c["sna"], c["naive"], c["duckdb"]
    rows = f"{ing['data']['rows']:,}"
    duck_key = "sna_within_2x_duckdb" if "sna_within_2x_duckdb" in targets else "sna_within_3x_duckdb"
    duck_target = "≤ 2×" if duck_key == "sna_within_2x_duckdb" else "≤ 3×"
    lines += [
        f"| ingest, {rows} rows (synthetic, {ing['data']['files']} files): read, validate, clean, "
        "place, reconcile, quarantine, aggregate to LSOA × month × category "
        f"| {_t(sna)}, peak {_gb(sna['peak_mb'])} "
        f"| naive `pd.concat(read_csv)` + group-by (cleans nothing): {_t(naive)}, "
        f"{_gb(naive['peak_mb'])} | {_ratio(ratios['sna_over_naive'], rsp.get('sna_over_naive'), 'naive')} "
        f"| ≤ 1.5× | {_yes(targets['sna_within_1.5x_naive'])} |",
        f"| same | {_t(sna)} | DuckDB read + group-by: {_t(duck)}, {_gb(duck['peak_mb'])} "
        f"| {_ratio(ratios['sna_over_duckdb'], rsp.get('sna_over_duckdb'), 'DuckDB')} "
        f"| {duck_target} | {_yes(targets[duck_key])} |",
        f"| same, peak memory | {_gb(sna['peak_mb'])} | — | — | < 1.5 GiB "
        f"| {_yes(targets['sna_peak_under_1.5GB'])} |",
    ]
    rep = ing.get("reproduction")
    if rep and rep.get("ratios"):
        parts = []
        for k, what in (("sna_over_naive", "naive"), ("sna_over_duckdb", "DuckDB")):
            v = rep["ratios"].get(k)
            if v:
                parts.append(f"{v['now']:.2f}× {what} now, {v['previous']:.2f}× "
                             f"({v['previous_spread'][0]:.2f}–{v['previous_spread'][1]:.2f}) before")
        moved = [f"{RATIO_NAMES.get(k, k)} {v['now']:.2f}× now, "
                 f"{v['previous_spread'][0]:.2f}–{v['previous_spread'][1]:.2f} before"
                 for k, v in rep["ratios"].items()
                 if not (v["within_previous_spread"] or v["spreads_overlap"])]
        if moved:  # the ratios that did not reproduce, named (the two above may have)
            parts.append("not reproduced: " + "; ".join(moved))
        lines.append(
            f"| same, rerun (`{ing.get('command', 'python benchmarks/run.py --only ingest')}`) "
            f"against the run before ({str(rep.get('previous_when', ''))[:16]}) "
            f"| — | — | {'; '.join(parts)} | within the spread "
            f"| {_yes(rep['reproduced'])} |")
    if "sna-dask" in c:
        d = c["sna-dask"]
        lines.append(
            f"| same, Dask engine (LocalCluster on this machine) | {_t(d)}, workers' "
            f"peak {_gb(d['workers_peak_mb'])} | the pandas engine: {_t(sna)} "
            f"| {_ratio(ratios['sna_dask_over_sna'], rsp.get('sna_dask_over_sna'), '')} "
            "| same tables (tested) | — |")
    if "sna-dask-500mb" in c:
        d = c["sna-dask-500mb"]
        same = targets.get("sna-dask-500mb_same_counts_as_sna")
        lines.append(
            f"| same, Dask engine on {d.get('workers', 2)} workers limited to "
            f"{d.get('memory_limit', '500MB')} each (less than the data) | {_t(d)}, driver's peak "
            f"{_gb(d['peak_mb'])}, workers' peak {_gb(d['workers_peak_mb'])} "
            f"| the pandas engine: {_t(sna)} "
            f"| {_ratio(ratios['sna_dask_500mb_over_sna'], rsp.get('sna_dask_500mb_over_sna'), '')} "
            f"| every round completes, same counts | {_yes(bool(same))} |")
    lines += _scale_rows(r.get("scale"), c.get("sna"))
    m, hr, ht = h["medians_s"], h["ratios"], h["targets"]
    hsp, hrs = h.get("spread_s"), h.get("ratio_spread") or {}
    n, perms = f"{h['data']['polygons']:,}", h["permutations"]
    with_numba = (h.get("environment") or {}).get("esda_numba")
    esda_how = "with numba, warm" if with_numba else "without numba"
    first = h.get("esda_first_call_s") or {}

    def esda_cell(key: str, label: str) -> str:
        text = f"esda `{label}` direct, {esda_how}: {_med(m, hsp, key)}"
        if with_numba and key in first:
            text += f"; its first call (numba compiling): {_s(first[key])}"
        if f"{key}_nonumba" in m:
            text += f"; without numba: {_med(m, hsp, key + '_nonumba')}"
        return text

    def ratio_cell(key: str) -> str:
        text = _ratio(hr[key], hrs.get(key), "")
        if f"{key}_nonumba" in hr:
            text += f"; {hr[key + '_nonumba']:.2f}× without numba"
        return text

    lines += [
        f"| Gi*, {perms} permutations, {n} polygons | {_med(m, hsp, 'gistar_perm')} "
        f"| {esda_cell('esda_gistar_perm', 'G_Local')} "
        f"| {ratio_cell('gistar_perm_sna_over_esda')} | ≤ 1.2×, < 20 s "
        f"| {_yes(ht['gistar_perm_within_1.2x_esda'] and ht['gistar_perm_under_20s'])} |",
        f"| local Moran, {perms} permutations, {n} polygons | {_med(m, hsp, 'moran_perm')} "
        f"| {esda_cell('esda_moran_perm', 'Moran_Local')} "
        f"| {ratio_cell('moran_perm_sna_over_esda')} | ≤ 1.2×, < 20 s "
        f"| {_yes(ht['moran_perm_within_1.2x_esda'] and ht['moran_perm_under_20s'])} |",
        f"| Gi*, analytical, {n} polygons | {_med(m, hsp, 'gistar_analytical')} "
        f"| {esda_cell('esda_gistar_analytical', 'G_Local')} "
        f"| {ratio_cell('gistar_analytical_sna_over_esda')} | < 2 s "
        f"| {_yes(ht['gistar_analytical_under_2s'])} |",
    ]
    run, pm = b["sna_run"], b["papermill_one_by_one"]
    bt = b["targets"]
    ratio = b["ratios"]["papermill_over_sna_run"]

    def steps(timings: dict) -> str:
        def one(k: str) -> str:
            v = timings.get(k)
            return _s(v["median"] if isinstance(v, dict) else v) if v is not None else "?"
        return f"prepare {one('prepare')} + chapters {one('chapters')} + assembly {one('assemble')}"

    if "sna_run_warm" in b:
        warm = b["sna_run_warm"]
        same = b.get("outputs", {}).get("cold_vs_warm_identical")
        lines += [
            f"| demo year's batch, `sna run` from a cold cache ({steps(run['timings'])}) "
            f"| {_t(run)} | the ten notebooks one by one with the papermill CLI: {_t(pm)} "
            f"| {_ratio(ratio, (b.get('ratio_spread') or {}).get('papermill_over_sna_run'), 'faster')} "
            f"| < 30 s and ≥ 2× faster "
            f"| {_yes(bt['sna_run_cold_under_30s'] and bt['sna_run_2x_faster_than_papermill'])} |",
            f"| same, warm rerun (cache present; {steps(warm['timings'])}) | {_t(warm)} "
            f"| tables and figures of the cold run (`cmp`): "
            f"{'identical' if same else '**different**'} | — | < 15 s, identical "
            f"| {_yes(bt['sna_run_warm_under_15s'] and bool(same))} |",
        ]
    else:  # a results.json from before the warm rerun was measured
        lines += [
            f"| demo year's batch, `sna run` from a cold cache ({steps(run['timings'])}) "
            f"| {_t(run)} | the ten notebooks one by one with the papermill CLI: {_t(pm)} "
            f"| {ratio:.2f}× faster | < 60 s and ≥ 2× faster "
            f"| {_yes(bt['sna_run_under_60s'] and bt['sna_run_2x_faster_than_papermill'])} |",
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
