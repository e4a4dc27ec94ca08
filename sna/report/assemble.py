"""Assembling a run's folder: ``report.html`` (every chapter's HTML, a contents list, the house
styles); ``tables.xlsx`` is :mod:`sna.report.xlsx`.
"""

from __future__ import annotations

import datetime as _dt
import html
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from ..chapter import chapter_number
from ..narrative import place
from .notebooks import CHAPTERS

if TYPE_CHECKING:  # pragma: no cover
    from .results import ChapterResult

__all__ = [
    "assemble_report",
    "export_chapter_html",
]


def export_chapter_html(executed: str | os.PathLike, html_path: str | os.PathLike) -> Path:
    """Export an executed notebook to HTML with nbconvert, without input cells or prompts."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    nb.cells = [c for c in nb.cells
                if "injected-parameters" not in c.get("metadata", {}).get("tags", [])]
    for c in nb.cells:  # stderr (warnings) is for the executed notebook, not the reader
        if c.cell_type == "code":
            c.outputs = [o for o in c.get("outputs", [])
                         if not (o.get("output_type") == "stream" and o.get("name") == "stderr")
                         and o.get("output_type") != "execute_result"]
    body, _ = html_exporter().from_notebook_node(nb)
    title = _notebook_title(nb) or Path(executed).stem
    body = re.sub(r"<title>.*?</title>", f"<title>{html.escape(title)}</title>", body, count=1,
                  flags=re.S)
    body = body.replace("</head>", f"<style>{_CHAPTER_CSS}</style>\n</head>", 1)
    path = Path(html_path)
    path.write_text(body, encoding="utf-8")
    return path

_EXPORTER: list = []


def html_exporter():
    """nbconvert's HTML exporter, made once per process: a chapter worker exports several
    chapters, and each new exporter compiles its Jinja templates again (about 0.1 s)."""
    if not _EXPORTER:
        from nbconvert import HTMLExporter

        _EXPORTER.append(HTMLExporter(exclude_input=True, exclude_input_prompt=True,
                                      exclude_output_prompt=True))
    return _EXPORTER[0]

# ---- report.html --------------------------------------------------------------------------
def _notebook_title(nb) -> str | None:
    for c in nb.cells:
        if c.cell_type == "markdown":
            m = re.search(r"^#\s+(.+)$", c.source, flags=re.M)
            if m:
                return m.group(1).strip()
    return None

_MD: dict[bool, object] = {}


def _markdown(text: str, *, escape: bool = False) -> str:
    """Markdown as HTML. The chapters' own Markdown is rendered as written (their prose has
    its values escaped already: :func:`sna.inert.markdown_text`); ``escape=True`` (the
    analyst's narrative, from a file the config names) shows any HTML in it as text, HTML
    comments (the template's prompts) dropped."""
    import mistune

    md = _MD.get(escape)
    if md is None:
        md = _MD[escape] = mistune.create_markdown(escape=escape,
                                                   plugins=["table", "strikethrough"])
    if escape:
        text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    return md(text)

def _render_output(o: dict, state: dict) -> str:
    """One notebook output as report HTML (no code, no stderr)."""
    otype = o.get("output_type")
    if otype in ("stream", "execute_result"):  # code artefacts: printed text, a cell's value
        return ""
    if otype == "error":
        return (f'<div class="sna-error"><strong>Error in this chapter:</strong> '
                f'{html.escape(str(o.get("ename")))}: {html.escape(str(o.get("evalue")))}</div>')
    data = o.get("data", {})
    meta = (o.get("metadata") or {}).get("sna") or {}
    kind = meta.get("kind")
    if kind == "banner":
        return ""  # the report has its own banner
    if kind == "caption":
        return ""  # rendered with its figure
    if kind == "figure" and "image/png" in data:
        label, caption = meta.get("label", ""), meta.get("caption", "")
        src = meta.get("source")
        cap = (f"<strong>{html.escape(label)}.</strong> {html.escape(caption)}"
               + (f" <em>{html.escape(src)}</em>" if src else ""))
        png = data["image/png"].replace("\n", "") if isinstance(data["image/png"], str) else ""
        return (f'<figure class="sna-figure" id="{_anchor(label)}"><img alt="{html.escape(label)}: '
                f'{html.escape(caption)}" src="data:image/png;base64,{png}"/>'
                f"<figcaption>{cap}</figcaption></figure>")
    if kind == "table" and "text/html" in data:
        text = _join(data["text/html"])
        return f'<div id="{_anchor(meta.get("label", ""))}">{text}</div>'
    if kind == "not_available":
        return f'<div class="sna-na">{_markdown(_join(data.get("text/markdown", "")))}</div>'
    if "text/html" in data:
        return _join(data["text/html"])
    if "image/png" in data:
        return f'<img src="data:image/png;base64,{_join(data["image/png"]).strip()}"/>'
    if "text/markdown" in data:
        return _markdown(_join(data["text/markdown"]))
    if "text/plain" in data:
        return f"<pre>{html.escape(_join(data['text/plain']))}</pre>"
    return ""

def _join(v) -> str:
    return "".join(v) if isinstance(v, list) else str(v)

def _anchor(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", str(text).lower()).strip("-")

def _render_chapter(executed: Path, result: ChapterResult | None,
                    stale: str | None = None) -> tuple[str, str, list]:
    """(title, html body, [(h2 id, h2 text)]) of one executed chapter."""
    import nbformat

    nb = nbformat.read(str(executed), as_version=4)
    title = _notebook_title(nb) or executed.stem
    parts: list[tuple[bool, str]] = []  # (is a bare section heading, html)
    state: dict = {}
    seen_title = False
    for c in nb.cells:
        tags = set(c.get("metadata", {}).get("tags", []))
        if tags & {"injected-parameters", "papermill-error-cell-tag", "parameters"}:
            continue
        if c.cell_type == "markdown":
            src = c.source
            if not seen_title and re.search(r"^#\s+", src, flags=re.M):
                src = re.sub(r"^#\s+.+$", "", src, count=1, flags=re.M)
                seen_title = True
            if src.strip():
                bare = bool(re.fullmatch(r"\s*#{2,6}\s+[^\n]+\s*", src))
                parts.append((bare, _markdown(src)))
        elif c.cell_type == "code":
            for o in c.get("outputs", []):
                text = _render_output(o, state)
                if text:
                    parts.append((False, text))
    # a section heading with nothing under it (the chapter said its data are missing) goes
    kept = [html_ for i, (bare, html_) in enumerate(parts)
            if not (bare and (i + 1 == len(parts) or parts[i + 1][0]))]
    body = "\n".join(kept)
    # ids for the section headings, so the contents list can link to them
    heads: list[tuple[str, str]] = []

    def _h2(m):
        text = re.sub("<[^>]+>", "", m.group(2))
        hid = f"{executed.stem}-{_anchor(text)}"
        heads.append((hid, html.unescape(text)))
        return f'<h2{m.group(1)} id="{hid}">{m.group(2)}</h2>'

    body = re.sub(r"<h2([^>]*)>(.*?)</h2>", _h2, body, flags=re.S)
    if stale:
        body = (f'<div class="sna-error sna-stale"><strong>Out of date.</strong> This chapter '
                f"comes from an earlier run, {html.escape(stale)}.</div>\n" + body)
    if result is not None and not result.ok:
        body += (f'<div class="sna-error"><strong>This chapter did not finish.</strong> '
                 f"{html.escape(result.summary())}. The executed notebook "
                 f"<code>chapters/{html.escape(executed.name)}</code> shows the full error.</div>")
    return title, body, heads

def assemble_report(
    out: str | os.PathLike,
    *,
    area: str,
    year: str,
    build: str = "restricted",
    synthetic: bool = False,
    results: Sequence[ChapterResult] | None = None,
    narrative: Sequence = (),
    stale: Mapping[str, str] | None = None,
    notices: Sequence[str] = (),
    coverage: str | None = None,
) -> Path:
    """Assemble ``report.html`` from the executed notebooks in ``<out>/chapters``.

    One self-contained page (figures embedded), no code: a title block, the banners
    (synthetic data; restricted or public build), a contents list linking every chapter and
    its sections, then each chapter on a new printed page. A4-portrait print styles.

    Parameters
    ----------
    out
        The run folder.
    area, year, build, synthetic
        For the title block and banners.
    results
        The run's chapter results (failed chapters are flagged); optional.
    narrative
        The analyst's sections (:func:`sna.narrative.read_narrative`): each closes the
        chapter it belongs with (:func:`sna.narrative.place`), under its own section heading,
        listed in the contents under that chapter.
    stale
        Chapters kept from an earlier run that was computed from other inputs, with the
        reason: each is marked "out of date" (in the contents and at its head).
    notices
        Sentences shown in a banner under the title (e.g. chapters an interrupted run did
        not finish).
    coverage
        What the data cover (districts, months), shown under the title
        (:meth:`sna.assessment.Assessment.coverage_text`): the area's name may be wider than
        the data.

    Returns
    -------
    pathlib.Path
        ``<out>/report.html``.
    """
    from .. import __version__

    out = Path(out)
    by_name = {r.name: r for r in (results or [])}
    executed = sorted((out / "chapters").glob("*.ipynb"),
                      key=lambda p: (CHAPTERS.index(p.stem) if p.stem in CHAPTERS else 99, p.stem))
    sections, contents = [], []
    after = place(list(narrative), [p.stem for p in executed])
    for nb_path in executed:
        res = by_name.get(nb_path.stem)
        title, body, heads = _render_chapter(nb_path, res, (stale or {}).get(nb_path.stem))
        for part in after.get(nb_path.stem, []):  # the analyst's sections close the chapter
            pid = f"narrative-{part.key}"
            heads.append((pid, part.heading))
            body += (f'\n<div class="sna-narrative" data-narrative="{part.key}">'
                     f'<h2 id="{pid}">{html.escape(part.heading)}</h2>\n'
                     f"{_markdown(part.text, escape=True)}</div>")
        num = chapter_number(nb_path.stem)
        sid = f"ch-{nb_path.stem}"
        failed = res is not None and not res.ok
        flag = ' <span class="sna-flag">did not finish</span>' if failed else ""
        if (stale or {}).get(nb_path.stem):
            flag += ' <span class="sna-flag">out of date</span>'

        sub = "".join(f'<li><a href="#{h}">{html.escape(t)}</a></li>' for h, t in heads)
        contents.append(f'<li><a href="#{sid}">{html.escape(title)}</a>{flag}'
                        + (f"<ol>{sub}</ol>" if sub else "") + "</li>")
        tag = '<span class="sna-tag">Synthetic data</span>' if synthetic else ""
        sections.append(
            f'<section class="chapter" id="{sid}" data-chapter="{num if num is not None else ""}">'
            f"<h1>{html.escape(title)}{tag}</h1>\n{body}\n</section>")

    banners = []
    if synthetic:
        banners.append('<div class="sna-banner sna-synthetic"><strong>Synthetic data.</strong> '
                       "This report is made from the bundled synthetic demo dataset. No figure "
                       "in it describes real people or places.</div>")
    for notice in notices:
        banners.append(f'<div class="sna-banner sna-restricted"><strong>Incomplete.</strong> '
                       f"{html.escape(notice)}</div>")
    if build == "public":
        banners.append('<div class="sna-banner sna-public"><strong>Public build.</strong> Every '
                       "table is under statistical disclosure control; the rule applied is named "
                       "under each table and listed in the technical appendix.</div>")
    else:
        banners.append('<div class="sna-banner sna-restricted"><strong>Restricted.</strong> '
                       "Full detail for partner agencies; not for publication.</div>")
    when = _dt.datetime.now().strftime("%d %B %Y")
    doc = f"""<!DOCTYPE html>
<html lang="en-GB">
<head>
<meta charset="utf-8"/>
<meta name="viewport" content="width=device-width, initial-scale=1"/>
<meta name="generator" content="sna {html.escape(__version__)}"/>
<title>Serious Violence Strategic Needs Assessment — {html.escape(area)} {html.escape(year)}</title>
<style>{_REPORT_CSS}</style>
</head>
<body>
<header class="sna-title">
<p class="sna-kicker">Serious Violence Strategic Needs Assessment</p>
<h1 class="sna-doc-title">{html.escape(area)} — {html.escape(year)}</h1>
{f'<p class="sna-coverage">{html.escape(coverage)}</p>' if coverage else ''}
<p class="sna-meta">{'Restricted' if build == 'restricted' else 'Public'} build · produced {when} with sna {html.escape(__version__)}</p>
{''.join(banners)}
</header>
<nav class="sna-contents" aria-label="Contents">
<h2>Contents</h2>
<ol>
{''.join(contents)}
</ol>
</nav>
<main>
{''.join(sections)}
</main>
</body>
</html>
"""
    path = out / "report.html"
    path.write_text(doc, encoding="utf-8")
    return path

# ---- styles -------------------------------------------------------------------------------
_BASE_CSS = """
.sna-banner{padding:.6em .9em;margin:.6em 0;border-radius:4px;border-left:6px solid;font-size:.95em}
.sna-banner,.sna-na,.sna-error,.sna-tag,.sna-flag{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.sna-synthetic{background:#fff4e5;border-color:#e67e00}
.sna-restricted{background:#fdecea;border-color:#b3261e}
.sna-public{background:#e8f3ea;border-color:#2e7d32}
.sna-na{background:#f3f4f6;border-left:4px solid #6b7280;padding:.1em .9em;margin:.8em 0}
.sna-na blockquote{margin:0;padding:0;border:0}
.sna-error{background:#fdecea;border-left:6px solid #b3261e;padding:.6em .9em;margin:1em 0}
.sna-tablewrap{margin:1em 0;max-width:100%;overflow-x:auto}
.sna-caption{font-weight:normal;margin:.2em 0 .4em 0}
.sna-tablenote{font-size:.85em;color:#444;margin:.3em 0 0 0}
table.sna-table{border-collapse:collapse;font-size:.85em;font-variant-numeric:tabular-nums}
table.sna-table th{border-bottom:2px solid #333;padding:.25em .45em;vertical-align:bottom;font-weight:600}
table.sna-table td{border-bottom:1px solid #ddd;padding:.2em .45em;vertical-align:top}
table.sna-table .num{text-align:right}
table.sna-table .txt{text-align:left}
table.sna-table th.num{hyphens:auto}
"""

_CHAPTER_CSS = _BASE_CSS

_REPORT_CSS = _BASE_CSS + """
:root{--text:#1f2328;--muted:#57606a;--accent:#1f4e79}
html{font-size:16px}
body{font-family:"Source Sans 3","Segoe UI",Helvetica,Arial,sans-serif;color:var(--text);
 line-height:1.5;max-width:46rem;margin:0 auto;padding:1.5rem 1.25rem 4rem}
h1,h2,h3{color:var(--accent);line-height:1.25}
section.chapter>h1{font-size:1.7rem;border-bottom:3px solid var(--accent);padding-bottom:.2em;margin-top:2.5rem}
h2{font-size:1.25rem;margin-top:1.6em}
h3{font-size:1.05rem}
.sna-title{border-bottom:1px solid #ccc;margin-bottom:1rem}
.sna-kicker{text-transform:uppercase;letter-spacing:.06em;color:var(--muted);margin:0;font-size:.85rem}
.sna-doc-title{font-size:2rem;margin:.1em 0}
.sna-meta{color:var(--muted);margin:.2em 0 .8em}
a{color:var(--accent)}
.sna-contents a{text-decoration:none}.sna-contents a:hover{text-decoration:underline}
.sna-contents>ol{list-style:none;padding-left:0;columns:2 20rem;column-gap:2rem}
.sna-contents li{margin:.15em 0}
.sna-contents>ol>li{break-inside:avoid;margin-bottom:.5em}
.sna-contents>ol>li>a{font-weight:600}
.sna-contents ol ol{font-size:.9em;list-style:none;padding-left:1.1em;color:var(--muted)}
.sna-contents ol ol a{color:#3d4b5c}
.sna-flag{background:#b3261e;color:#fff;border-radius:3px;padding:0 .4em;font-size:.8em;margin-left:.4em}
.sna-tag{font-size:.7rem;font-weight:normal;color:#8a4b00;background:#fff4e5;border:1px solid #e67e00;
 border-radius:3px;padding:0 .4em;margin-left:.6em;vertical-align:middle}
figure.sna-figure{margin:1.2em 0;text-align:center}
figure.sna-figure img{max-width:100%;height:auto}
figure.sna-figure figcaption{text-align:left;font-size:.92em;color:#333;margin-top:.3em}
img{max-width:100%;height:auto}
pre{white-space:pre-wrap;font-size:.85em}
@page{size:A4 portrait;margin:15mm 14mm;
 @bottom-right{content:"page " counter(page) " of " counter(pages);font:8pt sans-serif;color:#57606a}}
@media print{
 html{font-size:10.5pt}
 p,li{orphans:3;widows:3}
 body{max-width:none;padding:0}
 .sna-contents{break-after:page}
 section.chapter{break-before:page}
 section.chapter>h1{margin-top:0}
 figure,.sna-tablewrap,.sna-banner,.sna-na{break-inside:avoid}
 tr{break-inside:avoid}
 h1,h2,h3,.sna-caption{break-after:avoid}
 .sna-tablenote{break-before:avoid}
 .sna-tablewrap{overflow:visible}
 thead{display:table-header-group}
 table.sna-table{font-size:8.5pt;width:auto;max-width:100%}
 table.sna-table:has(tr>:nth-child(12)){font-size:7.5pt}
 table.sna-table:has(tr>:nth-child(16)){font-size:6.5pt}
 a{color:inherit;text-decoration:none}
}
"""
