"""Word and PowerPoint outputs: the needs assessment as a .docx, the board paper, slides.

A VRU's needs assessment ends as a Word document and a short paper to its board; this module
writes both from a finished run folder (``outputs/<area>/<FY>``), so nothing is retyped:

- :func:`write_docx` -- the whole assessment (``report.docx``): a title page with the
  synthetic-data and build banners, the contents, every chapter under its heading with its
  prose, its tables as real Word tables (the numbers exactly as the report shows them,
  right-aligned, header row repeated on each page) and its figures with numbered captions
  and alt text; the analyst's narrative sections (:mod:`sna.narrative`) after the chapter
  each belongs with.
- :func:`write_board_paper` -- the board paper (``board_paper.docx``), in the order of a
  VRU's report to its board: purpose, recommendations, reasons, then the key points --
  performance (Table A in board form: count, baseline average, % change with its 95%
  interval, significance), the success measures, the reach of the interventions, funding by
  stream, where violence happens (three maps) -- and the implications.
- :func:`write_slides` -- optional slides of the key figures (``slides.pptx``, needs the
  optional package ``python-pptx``).
- :func:`table_a_board` -- Table A in the board form from the full statistical table of
  :func:`sna.trend.table_a_measures`; :func:`format_p` writes p-values as ``p < 0.001``.

The writers read what the chapters left in the folder -- the executed notebooks (prose,
tables as the report shows them, figures), the chapter sidecars (table and figure names) and
the tables' CSVs -- so the Word documents carry the same numbers as ``report.html``.

A template: pass the VRU's own ``.docx`` (``template=``) and its documents take that file's
page set-up, fonts and styles; ``styles=`` names the styles to use where the template calls
them differently (keys: ``title``, ``subtitle``, ``heading1``, ``heading2``, ``heading3``,
``body``, ``caption``, ``table``, ``bullet``, ``number``, ``banner``).

Examples
--------
>>> format_p(0.0), format_p(0.0123), format_p(0.75)
('p < 0.001', 'p = 0.012', 'p = 0.75')
"""

from __future__ import annotations

import datetime as _dt
import html
import io
import math
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ._log import logger
from .chapter import run_info
from .chapter_outputs import chapter_items, executed_notebooks, find_output, sidecar_entry, table_csv
from .narrative import place
from .errors import SnaError

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "BOARD_MAPS",
    "DEFAULT_STYLES",
    "format_p",
    "funding_by_stream",
    "table_a_board",
    "table_a_numbers",
    "write_board_paper",
    "write_docx",
    "write_slides",
]

#: Style names used by the writers (those of Word's built-in template). A VRU template may
#: call them differently: pass ``styles={"heading1": "VRU Heading 1", ...}``.
DEFAULT_STYLES: dict[str, str] = {
    "title": "Title",
    "subtitle": "Subtitle",
    "heading1": "Heading 1",
    "heading2": "Heading 2",
    "heading3": "Heading 3",
    "body": "Normal",
    "caption": "Caption",
    "table": "Table Grid",
    "bullet": "List Bullet",
    "number": "List Number",
    "banner": "Intense Quote",
}

#: The maps of the board paper, by figure name (chapter 4): the hot spots, the clusters and
#: the density of serious violence.
BOARD_MAPS: tuple[str, ...] = ("gistar_map", "lisa_map", "kde_map")

_TEXT_WIDTH_IN = 6.3  # A4 with 2.5 cm margins, less a little
_PLACEHOLDER = "[To be completed by the report author]"


# --------------------------------------------------------------------------------------------
# numbers in board form
# --------------------------------------------------------------------------------------------


def format_p(p: Any) -> str:
    """A p-value as a board reads it: ``p < 0.001`` below 0.001, else three decimals (two
    from 0.1 up); never ``p = 0.0000``. Missing values give an empty string.

    >>> format_p(3e-37), format_p(0.001), format_p(0.0499), format_p(0.3482), format_p(None)
    ('p < 0.001', 'p = 0.001', 'p = 0.050', 'p = 0.35', '')
    """
    x = _number(p)
    if x is None:
        return "" if p is None or (isinstance(p, float) and math.isnan(p)) else str(p)
    if x < 0.001:
        return "p < 0.001"
    return f"p = {x:.3f}" if x < 0.1 else f"p = {x:.2f}"


def _number(v: Any) -> float | None:
    if v is None or isinstance(v, bool):
        return None
    try:
        x = float(v)
    except (TypeError, ValueError):
        return None
    return None if math.isnan(x) else x


def _pct(x: float | None, signed: bool = True) -> str:
    if x is None:
        return ""
    r = round(x)
    if r == 0:
        return "0%"
    return f"{'+' if signed and r > 0 else '−' if r < 0 else ''}{abs(r):,}%"


def table_a_numbers(table: "pd.DataFrame") -> "pd.DataFrame":
    """Table A in board form with its numbers kept as numbers (for the report's table, the
    CSV and the spreadsheet; :func:`table_a_board` writes the same as text for a paper).

    Returns
    -------
    pandas.DataFrame
        ``measure``, ``current``, ``baseline_mean``, ``pct_change`` and its 95% interval
        ``pct_lower``, ``pct_upper`` (from the rate ratio's: ``(ratio - 1) x 100``),
        ``significant`` and ``p`` (``"p < 0.001"`` style).

    >>> import pandas as pd
    >>> t = pd.DataFrame({"measure": ["All"], "current": [10452], "baseline_mean": [16591.0],
    ...     "pct_change": [-37.0], "rr_lower": [0.6168], "rr_upper": [0.6434],
    ...     "p_value": [0.0], "significant": [True]})
    >>> table_a_numbers(t).astype(object).iloc[0].map(str).tolist()
    ['All', '10452', '16591.0', '-37.0', '-38.32', '-35.66', 'True', 'p < 0.001']
    """
    import pandas as pd

    def pct(col):
        return ((pd.to_numeric(table[col], errors="coerce") - 1) * 100).round(2)

    return pd.DataFrame({
        "measure": table["measure"].to_numpy(),
        "current": table["current"].to_numpy(),
        "baseline_mean": table["baseline_mean"].to_numpy(),
        "pct_change": table["pct_change"].to_numpy(),
        "pct_lower": pct("rr_lower").to_numpy(),
        "pct_upper": pct("rr_upper").to_numpy(),
        "significant": table["significant"].to_numpy(),
        "p": [format_p(v) for v in table["p_value"]],
    })


def table_a_board(table: "pd.DataFrame", *, year: str | None = None,
                  baseline: str | None = None) -> "pd.DataFrame":
    """Table A in board form: one row per measure, five plain columns.

    Parameters
    ----------
    table
        Table A with the statistical columns of :func:`sna.trend.table_a_measures`
        (``measure``, ``current``, ``baseline_mean``, ``pct_change``, ``rate_ratio``,
        ``rr_lower``, ``rr_upper``, ``p_value``, ``significant``), e.g. read back from the
        chapter's CSV. In a public build a count may be ``"*"``: it is shown as it is.
    year, baseline
        Column headings: the assessment year ("2020/21") and the baseline ("2017/18 to
        2019/20"); default "This year" and "Baseline".

    Returns
    -------
    pandas.DataFrame
        Columns ``Measure``, the year's count, the baseline average, ``Change`` (``−37%``),
        ``95% interval`` of the change (``−38% to −36%``, from the rate ratio's interval) and
        ``Significant`` (``Yes (p < 0.001)`` / ``No (p = 0.75)``). Text, formatted as the
        board reads it: whole numbers with thousands separators, whole percentages. The full
        statistical columns stay in the report's appendix and the spreadsheet.

    Notes
    -----
    The change is the year's count against the annual average of the baseline years, as a
    percentage rounded to a whole number (the board report's "Down 37%"). Its 95% interval
    is that of the rate ratio (year / baseline average, from
    :func:`sna.trend.compare_periods`), turned into percentages: ``(ratio - 1) x 100``.
    A change is marked significant when the rate ratio's test gives p < 0.05; p-values are
    written ``p < 0.001`` below 0.001, never as ``p = 0.0000``.

    Examples
    --------
    >>> import pandas as pd
    >>> t = pd.DataFrame({"measure": ["All serious violence"], "current": [10452],
    ...     "baseline_mean": [16591.0], "pct_change": [-37.002], "rate_ratio": [0.63],
    ...     "rr_lower": [0.6168], "rr_upper": [0.6434], "p_value": [0.0],
    ...     "significant": [True]})
    >>> table_a_board(t, year="2020/21").iloc[0].tolist()
    ['All serious violence', '10,452', '16,591', '−37%', '−38% to −36%', 'Yes (p < 0.001)']
    """
    import pandas as pd

    need = {"measure", "current", "baseline_mean", "pct_change"}
    missing = need - set(table.columns)
    if missing:
        raise SnaError(f"Table A lacks the column(s) {sorted(missing)}; expected the table of "
                       "sna.trend.table_a_measures")
    rows = []
    for _, r in table.iterrows():
        cur, base = _number(r.get("current")), _number(r.get("baseline_mean"))
        lo, hi = _number(r.get("rr_lower")), _number(r.get("rr_upper"))
        p = r.get("p_value")
        sig = r.get("significant")
        sig = str(sig).strip().lower() in ("true", "1", "yes") if sig is not None else None
        interval = (f"{_pct((lo - 1) * 100)} to {_pct((hi - 1) * 100)}"
                    if lo is not None and hi is not None else "")
        rows.append({
            "Measure": str(r["measure"]),
            "count": f"{cur:,.0f}" if cur is not None else str(r.get("current", "")),
            "base": f"{base:,.0f}" if base is not None else str(r.get("baseline_mean", "")),
            "Change": _pct(_number(r.get("pct_change"))),
            "95% interval": interval,
            "Significant": ("" if sig is None else ("Yes" if sig else "No"))
            + (f" ({format_p(p)})" if format_p(p) else ""),
        })
    out = pd.DataFrame(rows)
    return out.rename(columns={"count": year or "This year",
                               "base": "Baseline average" + (f" ({baseline})" if baseline
                                                             else "")})


# --------------------------------------------------------------------------------------------
# writing Word
# --------------------------------------------------------------------------------------------


class _Doc:
    """A python-docx Document with the house's ways of adding things."""

    def __init__(self, template=None, styles: Mapping[str, str] | None = None):
        from docx import Document

        if template is not None and not Path(template).is_file():
            raise SnaError(f"the Word template {template} does not exist", key="template")
        self.doc = Document(str(template)) if template is not None else Document()
        if template is not None:  # start from the template's styles, not its text
            body = self.doc.element.body
            for child in list(body):
                if not child.tag.endswith("}sectPr"):
                    body.remove(child)
        self.styles = {**DEFAULT_STYLES, **dict(styles or {})}
        known = {s.name for s in self.doc.styles}
        for key, name in self.styles.items():
            if name not in known:
                fallback = DEFAULT_STYLES.get(key)
                logger.warning("Word template: style %r (for %s) not found; using %r", name, key,
                               fallback if fallback in known else "Normal")
                self.styles[key] = fallback if fallback in known else "Normal"
        if template is None:
            self._house_page()
        _remember_style_ids(self.doc)

    def _house_page(self) -> None:
        from docx.shared import Cm, Pt

        sec = self.doc.sections[0]
        sec.page_width, sec.page_height = Cm(21.0), Cm(29.7)
        for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
            setattr(sec, side, Cm(2.5))
        normal = self.doc.styles["Normal"]
        normal.font.name = "Arial"
        normal.font.size = Pt(10.5)

    def style(self, key: str) -> str:
        return self.styles[key]

    # text
    def heading(self, text: str, level: int = 1, *, page_break: bool = False):
        p = self.doc.add_paragraph(text, style=self.style(f"heading{min(max(level, 1), 3)}"))
        if page_break:
            p.paragraph_format.page_break_before = True
        return p

    def para(self, text: str = "", *, style: str = "body", bold: bool = False,
             italic: bool = False):
        p = self.doc.add_paragraph(style=self.style(style))
        if text:
            run = p.add_run(text)
            run.bold, run.italic = bold or None, italic or None
        return p

    def markdown(self, text: str, *, heading_offset: int = 0) -> None:
        """Markdown (headings, paragraphs, lists, quotes, bold, italics, code, links)."""
        import mistune

        md = mistune.create_markdown(renderer=None, plugins=["table", "strikethrough"])
        for tok in md(text):
            self._block(tok, heading_offset)

    def _block(self, tok: dict, offset: int, list_style: str | None = None) -> None:
        t = tok.get("type")
        if t == "heading":
            level = int(tok.get("attrs", {}).get("level", 2)) + offset
            p = self.doc.add_paragraph(style=self.style(f"heading{min(max(level, 1), 3)}"))
            self._inline(p, tok.get("children", []))
        elif t in ("paragraph", "block_text"):
            p = self.doc.add_paragraph(style=self.style(list_style or "body"))
            self._inline(p, tok.get("children", []))
        elif t == "list":
            style = "number" if tok.get("attrs", {}).get("ordered") else "bullet"
            for item in tok.get("children", []):
                for child in item.get("children", []):
                    if child.get("type") == "list":
                        self._block(child, offset)
                    else:
                        self._block(child, offset, list_style=style)
        elif t == "block_quote":
            for child in tok.get("children", []):
                self._block(child, offset, list_style="banner")
        elif t == "block_code":
            p = self.doc.add_paragraph(style=self.style("body"))
            run = p.add_run(tok.get("raw", "").rstrip("\n"))
            run.font.name = "Courier New"
        elif t == "table":
            self._md_table(tok)
        elif t == "thematic_break":
            self.doc.add_paragraph(style=self.style("body"))

    def _inline(self, p, children, *, bold=False, italic=False) -> None:
        for c in children:
            t = c.get("type")
            if t in ("text", "inline_html"):
                raw = c.get("raw", "")
                if t == "inline_html":  # tags dropped: the document carries text only
                    raw = re.sub(r"<[^>]+>", "", raw)
                run = p.add_run(html.unescape(raw))  # &amp; / &lt; written by the chapters
                run.bold, run.italic = bold or None, italic or None
            elif t == "strong":
                self._inline(p, c.get("children", []), bold=True, italic=italic)
            elif t in ("emphasis", "strikethrough"):
                self._inline(p, c.get("children", []), bold=bold, italic=True)
            elif t == "codespan":
                run = p.add_run(c.get("raw", ""))
                run.font.name = "Courier New"
            elif t == "link":
                self._inline(p, c.get("children", []), bold=bold, italic=italic)
            elif t in ("softbreak", "linebreak"):
                p.add_run(" ")
            elif "children" in c:
                self._inline(p, c["children"], bold=bold, italic=italic)

    def _md_table(self, tok: dict) -> None:
        head, body = [], []
        for part in tok.get("children", []):
            if part.get("type") == "table_head":
                head = [self._plain(cell) for cell in part.get("children", [])]
            elif part.get("type") == "table_body":
                body = [[self._plain(cell) for cell in row.get("children", [])]
                        for row in part.get("children", [])]
        self.table(head, body, [False] * len(head))

    def _plain(self, tok: dict) -> str:
        if "raw" in tok and tok.get("type") == "text":
            return html.unescape(tok["raw"])
        if "raw" in tok and tok.get("type") == "codespan":
            return tok["raw"]
        return "".join(self._plain(c) for c in tok.get("children", []))

    # tables
    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]],
              numeric: Sequence[bool], *, caption: str | None = None,
              notes: Sequence[str] = (), font_pt: float = 8.5):
        """A real Word table: header row repeated on every page, numbers right-aligned."""
        from docx.enum.table import WD_TABLE_ALIGNMENT
        from docx.enum.text import WD_ALIGN_PARAGRAPH
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn
        from docx.shared import Inches, Pt

        if caption:
            cap = self.doc.add_paragraph(style=self.style("caption"))
            self._caption_runs(cap, caption)
            cap.paragraph_format.keep_with_next = True
        header, rows, numeric = _drop_empty_columns(header, rows, numeric)
        ncol = max(len(header), max((len(r) for r in rows), default=0), 1)
        table = self.doc.add_table(rows=1 + len(rows), cols=ncol)
        table.style = self.style("table")
        table.alignment = WD_TABLE_ALIGNMENT.LEFT
        numeric = list(numeric) + [False] * (ncol - len(numeric))
        # python-docx finds a row's cells by walking the row's XML: once per row, not per cell
        row_cells = [row.cells for row in table.rows]
        for i, values in enumerate([list(header)] + [list(r) for r in rows]):
            cells = row_cells[i]
            for j in range(ncol):
                text = str(values[j] if j < len(values) else "")
                if i and numeric[j] and text.startswith("-"):
                    text = "−" + text[1:]  # a minus sign: no line break after it
                par = cells[j].paragraphs[0]
                run = par.add_run(text)
                run.font.size = Pt(font_pt if ncol < 10 else min(font_pt, 7.5))
                if i == 0:
                    run.bold = True
                if numeric[j]:
                    par.alignment = WD_ALIGN_PARAGRAPH.RIGHT
        table.autofit = False
        _narrow_cell_margins(table)
        for j, width in enumerate(_column_widths([list(header)] + [list(r) for r in rows], ncol)):
            table.columns[j].width = Inches(width)  # the grid (LibreOffice reads this)
            for cells in row_cells:
                cells[j].width = Inches(width)  # each cell (Word reads this)
        tr_pr = table.rows[0]._tr.get_or_add_trPr()
        head = OxmlElement("w:tblHeader")
        head.set(qn("w:val"), "true")
        tr_pr.append(head)
        for note in notes:
            p = self.doc.add_paragraph(style=self.style("body"))
            run = p.add_run(note)
            run.font.size = Pt(8)
            run.italic = True
        if not notes:
            self.doc.add_paragraph(style=self.style("body"))
        return table

    def _caption_runs(self, par, text: str) -> None:
        m = re.match(r"^((?:Table|Figure) [\w.]+\.)\s*(.*)$", text, flags=re.S)
        if m:
            par.add_run(m.group(1) + " ").bold = True
            par.add_run(m.group(2))
        else:
            par.add_run(text)

    # figures
    def figure(self, png: bytes, caption: str, *, alt: str, width_in: float = _TEXT_WIDTH_IN):
        """A picture with its caption under it and its alt text (for screen readers)."""
        from docx.shared import Inches

        width = _picture_width(png, width_in)
        self.doc.add_picture(io.BytesIO(png), width=Inches(width))
        pic_par = self.doc.paragraphs[-1]
        pic_par.paragraph_format.keep_with_next = True
        inline = pic_par.runs[-1]._r.xpath(".//wp:docPr")
        if inline:
            inline[0].set("descr", alt)
            inline[0].set("title", alt[:120])
        cap = self.doc.add_paragraph(style=self.style("caption"))
        self._caption_runs(cap, caption)

    def banner(self, text: str, bold_lead: str | None = None):
        p = self.doc.add_paragraph(style=self.style("banner"))
        if bold_lead:
            p.add_run(bold_lead + " ").bold = True
        p.add_run(text)
        return p

    def contents(self, entries: Sequence[tuple[int, str]]) -> None:
        """A Word contents field (levels 1-2), shown with the headings until Word updates it
        (F9, or on opening: the document asks to update its fields)."""
        from docx.oxml import OxmlElement
        from docx.oxml.ns import qn

        self.heading("Contents", 1)
        p = self.doc.add_paragraph(style=self.style("body"))

        def fld(kind):
            el = OxmlElement("w:fldChar")
            el.set(qn("w:fldCharType"), kind)
            r = OxmlElement("w:r")
            r.append(el)
            return r

        p._p.append(fld("begin"))
        instr_r = OxmlElement("w:r")
        instr = OxmlElement("w:instrText")
        instr.set(qn("xml:space"), "preserve")
        instr.text = ' TOC \\o "1-2" \\h \\z \\u '
        instr_r.append(instr)
        p._p.append(instr_r)
        p._p.append(fld("separate"))
        first = True
        for level, text in entries:
            target = p if first else self.doc.add_paragraph(style=self.style("body"))
            first = False
            run = target.add_run(("    " if level > 1 else "") + text)
            run.bold = level == 1 or None
        end_p = p if first else self.doc.paragraphs[-1]
        end_p._p.append(fld("end"))
        settings = self.doc.settings.element
        upd = OxmlElement("w:updateFields")
        upd.set(qn("w:val"), "true")
        settings.append(upd)

    def page_break(self) -> None:
        from docx.enum.text import WD_BREAK

        self.doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)

    def save(self, path: Path, *, title: str, subject: str) -> Path:
        props = self.doc.core_properties
        props.title, props.subject, props.author = title, subject, "sna"
        props.comments = "Written by sna from the run folder; numbers come from code."
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".tmp")
        self.doc.save(str(tmp))
        tmp.replace(path)
        return path


def _narrow_cell_margins(table, twips: int = 43) -> None:
    """Left and right cell margins of about 0.03 inch (Word's default is 0.08): a table of
    twelve columns keeps its numbers on one line."""
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    tbl_pr = table._tbl.tblPr
    mar = OxmlElement("w:tblCellMar")
    for side in ("left", "right"):
        el = OxmlElement(f"w:{side}")
        el.set(qn("w:w"), str(twips))
        el.set(qn("w:type"), "dxa")
        mar.append(el)
    tbl_pr.append(mar)


def _drop_empty_columns(header, rows, numeric):
    """Leave out the columns with no value in any row (a measure the data cannot give).

    >>> _drop_empty_columns(["a", "b", "c"], [["1", "", "x"], ["2", "", ""]], [True] * 3)
    (['a', 'c'], [['1', 'x'], ['2', '']], [True, True])
    """
    if not rows:
        return list(header), [list(r) for r in rows], list(numeric)
    keep = [j for j in range(len(header))
            if any(j < len(r) and str(r[j]).strip() for r in rows)]
    return ([header[j] for j in keep], [[r[j] if j < len(r) else "" for j in keep] for r in rows],
            [numeric[j] if j < len(numeric) else False for j in keep])


def _column_widths(cells: Sequence[Sequence[str]], ncol: int,
                   total: float = _TEXT_WIDTH_IN) -> list[float]:
    """Column widths (inches) summing to ``total``: a number never wraps (its column is as
    wide as its longest number), a header wraps between words, a text column takes what
    its typical text needs (up to about 22 characters a line).

    >>> [round(w, 2) for w in _column_widths([["Measure", "n"], ["All serious violence", "10"]], 2)]
    [5.09, 1.21]
    """
    need = []
    for j in range(ncol):
        col = [str(r[j]) for r in cells[1:] if j < len(r)]
        head = str(cells[0][j]) if cells and j < len(cells[0]) else ""
        # a long header word may break rather than widen a column of short values
        head_word = min(max((len(w) for w in head.split()), default=1), 8)
        if col and all(re.fullmatch(r"[-−+£]?[\d,.]+%?|\*|", c.strip()) for c in col):
            need.append(max(max(len(c) for c in col), head_word, 3) + 2)
            continue
        longest_word = max((len(w) for c in col for w in c.split()), default=1)
        typical = sorted(len(c) for c in col)[len(col) // 2] if col else 1
        need.append(max(longest_word, head_word, min(typical, 22), 3) + 1)
    scale = total / sum(need)
    return [n * scale for n in need]


def _picture_width(png: bytes, width_in: float) -> float:
    """The width of a picture on the page: its own width at 150 dpi, at most the text
    width, and no taller than about two thirds of the page."""
    from PIL import Image

    with Image.open(io.BytesIO(png)) as img:  # reads the header, not the pixels
        w_px, h_px = img.size
    natural = w_px / 150
    tallest = 6.8  # inches of an A4 text block left for a figure and its caption
    return float(min(width_in, natural, tallest * w_px / max(h_px, 1)))


def _remember_style_ids(doc) -> None:
    """Remember each style name's id in this document: python-docx looks a style up (and the
    document's default style of its type) by XPath over every style on each paragraph it
    styles, about a millisecond a paragraph. The styles do not change while a document is
    written, so the answer for a name is the same each time."""
    part = doc.part
    look_up = part.get_style_id
    ids: dict = {}

    def get_style_id(style_or_name, style_type):
        if not isinstance(style_or_name, str):
            return look_up(style_or_name, style_type)
        key = (style_or_name, style_type)
        if key not in ids:
            ids[key] = look_up(style_or_name, style_type)
        return ids[key]

    part.get_style_id = get_style_id


def _banners(d: _Doc, info: Mapping[str, Any]) -> None:
    if info.get("synthetic"):
        d.banner("This document is made from the bundled synthetic demo dataset. No figure in "
                 "it describes real people or places.", "Synthetic data.")
    if info.get("build") == "public":
        d.banner("Every table is under statistical disclosure control; the rule applied is "
                 "named under each table.", "Public build.")
    else:
        d.banner("Full detail for partner agencies; not for publication.", "Restricted.")


def _narrative(narrative) -> list:
    if narrative is None:
        return []
    from .narrative import Section, read_narrative

    if isinstance(narrative, (str, os.PathLike)):
        return read_narrative(narrative)
    return [s for s in narrative if isinstance(s, Section)]


def write_docx(
    output_dir: str | os.PathLike,
    path: str | os.PathLike | None = None,
    *,
    template: str | os.PathLike | None = None,
    styles: Mapping[str, str] | None = None,
    narrative=None,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Write the whole needs assessment as a Word document (``report.docx``).

    Parameters
    ----------
    output_dir
        A finished run folder (``outputs/<area>/<FY>``, with ``chapters/*.ipynb``).
    path
        Where to write; default ``<output_dir>/report.docx``.
    template
        The VRU's own ``.docx``: its page set-up, fonts and styles are used (its text is
        not copied).
    styles
        Style names of the template where they differ from :data:`DEFAULT_STYLES`.
    narrative
        The analyst's narrative: the Markdown file's path, or sections from
        :func:`sna.narrative.read_narrative`. Each section goes after its chapter, under its
        own heading.
    info
        ``area``, ``year``, ``build``, ``synthetic``; default from the folder's manifest.

    Returns
    -------
    pathlib.Path
        The document written.

    Raises
    ------
    SnaError
        The folder has no executed chapters, or the template does not exist.
    """
    out = Path(output_dir)
    chapters = executed_notebooks(out)
    if not chapters:
        raise SnaError(f"{out} has no executed chapters (chapters/*.ipynb): run `sna run` "
                       "first", key="output_dir")
    info = {**run_info(out), **dict(info or {})}
    sections = _narrative(narrative)
    d = _Doc(template, styles)
    d.para("Serious Violence Strategic Needs Assessment", style="title")
    d.para(f"{info['area']} — {info['year']}", style="subtitle")
    when = _dt.date.today().strftime("%d %B %Y")
    d.para(f"{'Public' if info['build'] == 'public' else 'Restricted'} build · produced {when} "
           "with sna")
    _banners(d, info)
    parsed = [(nb, *chapter_items(nb)) for nb in chapters]
    after = place(sections, [nb.stem for nb in chapters])
    entries: list[tuple[int, str]] = []
    for nb, title, items in parsed:
        entries.append((1, title))
        entries += [(2, _heading_text(p)) for k, p in items
                    if k == "md" and re.match(r"\s*##\s", p) and _heading_text(p)]
        entries += [(1, s.heading) for s in after.get(nb.stem, [])]
    d.contents(entries)
    for nb, title, items in parsed:
        d.heading(title, 1, page_break=True)
        for kind, payload in items:
            _add_item(d, kind, payload)
        for s in after.get(nb.stem, []):
            d.heading(s.heading, 1, page_break=True)
            d.markdown(s.text)
    target = Path(path) if path is not None else out / "report.docx"
    return d.save(target, title=f"Serious Violence Strategic Needs Assessment — "
                                f"{info['area']} {info['year']}",
                  subject="Serious Violence Strategic Needs Assessment")


def _heading_text(md: str) -> str:
    m = re.match(r"\s*#{2,6}\s+(.+)", md)
    return m.group(1).strip() if m else ""


def _add_item(d: _Doc, kind: str, payload) -> None:
    if kind == "md":
        d.markdown(payload)
    elif kind == "figure":
        meta, png = payload
        label, caption = meta.get("label", ""), meta.get("caption", "")
        src = meta.get("source")
        d.figure(png, f"{label}. {caption}" + (f" {src}" if src else ""),
                 alt=f"{label}: {caption}")
    elif kind == "table":
        meta, t = payload
        d.table(t.header, t.rows, t.numeric,
                caption=f"{meta.get('label', '')}. {meta.get('caption', '')}", notes=t.notes)
    elif kind == "na":
        d.para("Not available: " + payload, italic=True)
    elif kind == "error":
        d.para("Error in this chapter: " + payload, bold=True)


# --------------------------------------------------------------------------------------------
# the board paper
# --------------------------------------------------------------------------------------------


def _numbered(d: _Doc, number: str, text: str) -> None:
    from docx.shared import Cm

    p = d.para()
    p.paragraph_format.left_indent = Cm(1.2)
    p.paragraph_format.first_line_indent = Cm(-1.2)
    p.add_run(f"{number}\t")
    p.add_run(text)


def funding_by_stream(out: str | os.PathLike) -> "pd.DataFrame | None":
    """Funding of the year's interventions summed by stream, from the interventions chapter's
    cost table (its ``funding_stream`` rows, or columns ``funding_stream`` / ``stream`` and
    ``cost``), or None when the data do not carry a stream.

    Returns
    -------
    pandas.DataFrame or None
        ``stream``, ``cost`` (pounds), ``interventions`` (count, as published: ``*`` where
        withheld), largest first.
    """
    import pandas as pd

    df, _entry = table_csv(Path(out), "08_interventions", "costs")
    if df is None:
        return None
    if {"dimension", "group", "cost"} <= set(df.columns):  # the chapter's long form
        rows = df[df["dimension"] == "funding_stream"]
        if rows.empty:
            return None
        res = pd.DataFrame({"stream": rows["group"].astype(str),
                            "cost": pd.to_numeric(rows["cost"], errors="coerce"),
                            "interventions": rows["interventions"].astype(str)
                            if "interventions" in rows.columns else ""})
        res = res.dropna(subset=["cost"])
        if res.empty:
            return None
        return res.sort_values(["cost", "stream"], ascending=[False, True]).reset_index(drop=True)
    stream = next((c for c in ("funding_stream", "stream", "funding") if c in df.columns), None)
    cost = next((c for c in ("cost", "total_cost", "cost_gbp") if c in df.columns), None)
    if stream is None or cost is None:
        return None
    work = pd.DataFrame({"stream": df[stream].fillna("Not known").astype(str),
                         "cost": pd.to_numeric(df[cost], errors="coerce")})
    work = work.dropna(subset=["cost"])
    if work.empty:
        return None
    out_df = (work.groupby("stream", sort=False)
              .agg(cost=("cost", "sum"), interventions=("cost", "size"))
              .reset_index().sort_values(["cost", "stream"], ascending=[False, True]))
    return out_df.reset_index(drop=True)


def _count_text(v: Any) -> str:
    """A count as the board reads it; a withheld one ("*") as published.

    >>> _count_text("28"), _count_text(1547.0), _count_text("*")
    ('28', '1,547', '*')
    """
    x = _number(v)
    return f"{x:,.0f}" if x is not None else str(v)


def _cover(d: _Doc, info: Mapping[str, Any], details: Mapping[str, Any]) -> None:
    """The board paper's cover table: to whom, when, by whom; missing ones for the author."""
    cover = [("Report to:", details.get("report_to")), ("Date of meeting:", details.get("date")),
             ("Report of:", details.get("report_of")), ("Report author:", details.get("author")),
             ("E-mail:", details.get("email")), ("Agenda item:", details.get("agenda_item"))]
    d.table(["Consideration", "Public" if info["build"] == "public" else "Restricted"],
            [[k, v or _PLACEHOLDER] for k, v in cover], [False, False], font_pt=9.5)


def _performance(d: _Doc, out: Path, year: Any, k: int) -> int:
    """Section 4's performance: Table A in board form, or why not; returns the next number."""
    d.heading("Performance", 2)
    table_a, entry = _table_a(out)
    if table_a is not None:
        base = _baseline_words(entry.get("caption", ""))
        board = table_a_board(table_a, year=str(year), baseline=base)
        first = board.iloc[0]
        _numbered(d, f"4.{k}", f"Table A compares {year} with the annual average of the "
                  f"baseline years{f' ({base})' if base else ''}. {first['Measure']}: "
                  f"{first.iloc[1]} against an average of {first.iloc[2]}, a change of "
                  f"{first['Change']} (95% interval {first['95% interval']}).")
        k += 1
        d.table(list(board.columns), board.astype(str).values.tolist(),
                [False, True, True, True, True, False], caption="Table A. " + entry["caption"],
                notes=["Change: the year against the baseline average; the 95% interval is "
                       "that of the rate ratio (exact Poisson test). Significant: the change "
                       "is unlikely to be chance at the 5% level."])
    else:
        _numbered(d, f"4.{k}", "Table A is not available: the police data do not cover the "
                  "baseline years.")
        k += 1
    return k


def write_board_paper(
    output_dir: str | os.PathLike,
    path: str | os.PathLike | None = None,
    *,
    template: str | os.PathLike | None = None,
    styles: Mapping[str, str] | None = None,
    narrative=None,
    details: Mapping[str, str] | None = None,
    maps: Sequence[str] = BOARD_MAPS,
    info: Mapping[str, Any] | None = None,
) -> Path:
    """Write the board paper (``board_paper.docx``): short, in a VRU board report's order.

    1. Purpose of the report; 2. Recommendations (the narrative's, else that the board
    notes the report); 3. Reasons; 4. Summary of key points: performance (Table A in board
    form, :func:`table_a_board`), the success measures, the reach of the interventions,
    funding by stream (:func:`funding_by_stream`, or the narrative's funding section), where
    violence happens (three maps, ``maps``), challenges (the narrative's data-sharing
    section); 5-11. the implications a board report lists, left for the author; 12.
    Appendices.

    Parameters
    ----------
    output_dir, path, template, styles, narrative, info
        As :func:`write_docx`; default path ``<output_dir>/board_paper.docx``.
    details
        The cover table: ``report_to``, ``date``, ``report_of``, ``author``, ``email``,
        ``agenda_item``; missing ones are left for the author.
    maps
        Chapter 4's figure names of the three maps (default :data:`BOARD_MAPS`).

    Returns
    -------
    pathlib.Path
    """
    out = Path(output_dir)
    if not executed_notebooks(out):
        raise SnaError(f"{out} has no executed chapters (chapters/*.ipynb): run `sna run` "
                       "first", key="output_dir")
    info = {**run_info(out), **dict(info or {})}
    sections = {s.key: s for s in _narrative(narrative)}
    details = dict(details or {})
    d = _Doc(template, styles)
    _banners(d, info)
    _cover(d, info, details)
    area, year = info["area"], info["year"]
    d.para(f"Serious violence in {area}: the {year} needs assessment", style="title")

    d.heading("1. Purpose of the report", 1)
    _numbered(d, "1.1", f"To summarise the findings of the {year} Serious Violence Strategic "
              f"Needs Assessment for {area}: the change in serious violence against the "
              "baseline, the success measures, the reach of the interventions and where "
              "violence is concentrated.")
    d.heading("2. Recommendations", 1)
    rec = sections.get("recommendations")
    if rec is not None and not rec.is_prompt:
        d.markdown(rec.text)
    else:
        _numbered(d, "2.1", "That the board notes the contents of this report.")
    d.heading("3. Reasons for recommendations", 1)
    _numbered(d, "3.1", "To keep the board informed of the needs assessment and of progress "
              "against the success measures.")

    d.heading("4. Summary of key points", 1)
    k = 1
    k = _performance(d, out, year, k)
    success = find_output(out, "01_key_findings", "table", "success_measures")
    if success is not None:
        d.heading("Success measures", 2)
        meta, t = success
        _numbered(d, f"4.{k}", "The VRU success measures against the baseline average.")
        k += 1
        d.table(t.header, t.rows, t.numeric, caption=f"{meta['label']}. {meta['caption']}",
                notes=t.notes)
    reach = find_output(out, "08_interventions", "table", "reach_level")
    if reach is not None:
        d.heading("Interventions", 2)
        meta, t = reach
        _numbered(d, f"4.{k}", "The reach of the interventions: participants by prevention "
                  "level, against the at-risk cohort.")
        k += 1
        d.table(t.header, t.rows, t.numeric, caption=f"{meta['label']}. {meta['caption']}",
                notes=t.notes)
    streams = funding_by_stream(out)
    fund = sections.get("funding")
    if streams is not None or (fund is not None and not fund.is_prompt):
        d.heading("Funding", 2)
        if streams is not None:
            total = float(streams["cost"].sum())
            _numbered(d, f"4.{k}", f"Interventions in {year} cost £{total:,.0f} in all, by "
                      "funding stream as below.")
            k += 1
            rows = [[r.stream, f"£{r.cost:,.0f}", _count_text(r.interventions)]
                    for r in streams.itertuples()]
            d.table(["Funding stream", "Cost", "Interventions"], rows, [False, True, True],
                    caption="Funding of the interventions by stream.")
        if fund is not None and not fund.is_prompt:
            d.markdown(fund.text)
    d.heading("Where serious violence happens", 2)
    shown = 0
    for name in maps:
        fig = find_output(out, "04_geography", "figure", name)
        if fig is None:
            continue
        meta, png = fig
        d.figure(png, f"{meta['label']}. {meta['caption']}",
                 alt=f"{meta['label']}: {meta['caption']}", width_in=5.6)
        shown += 1
    if not shown:
        _numbered(d, f"4.{k}", "No map is available: the data carry no locations.")
        k += 1
    challenges = [sections[s] for s in ("data_sharing", "services", "community_voice")
                  if s in sections and not sections[s].is_prompt]
    if challenges:
        d.heading("Challenges", 2)
        for s in challenges:
            d.heading(s.heading, 3)
            d.markdown(s.text)

    for n, heading in enumerate(["Financial implications and budget provision",
                                 "Human resources implications", "Equality implications",
                                 "Risk management",
                                 "Policy implications and links to the Police and Crime Plan",
                                 "Changes in legislation or other legal considerations",
                                 "Details of outcome of consultation"], start=5):
        d.heading(f"{n}. {heading}", 1)
        _numbered(d, f"{n}.1", _PLACEHOLDER)
    d.heading("12. Appendices", 1)
    _numbered(d, "12.1", f"The full needs assessment ({area}, {year}): report.html and "
              "report.docx in the run folder; tables in tables.xlsx.")
    toc = sections.get("theory_of_change")
    if toc is not None and not toc.is_prompt:
        _numbered(d, "12.2", "Appendix A: theory of change (below).")
        d.heading("Appendix A: Theory of change", 2)
        d.markdown(toc.text)
    target = Path(path) if path is not None else out / "board_paper.docx"
    return d.save(target, title=f"Serious violence in {area}: the {year} needs assessment",
                  subject="Board paper")


def _table_a(out: Path):
    """(Table A with its statistical columns, the record of the table chapter 1 shows).

    The statistics are the technical appendix's ``table_a_statistics`` (earlier versions
    kept them in chapter 1, as ``table_a_statistics`` or in ``table_a``); the caption, which
    names the baseline years, is chapter 1's ``table_a``.
    """
    shown = sidecar_entry(out, "01_key_findings", "tables", "table_a")
    for chapter, name in (("09_appendix", "table_a_statistics"),
                          ("01_key_findings", "table_a_statistics"),
                          ("01_key_findings", "table_a")):
        df, entry = table_csv(out, chapter, name)
        if df is not None and "rr_lower" in df.columns:
            return df, shown or entry
    return None, None


def _baseline_words(caption: str) -> str | None:
    m = re.search(r"(\d{4}/\d{2}) to (\d{4}/\d{2})", caption or "")
    return f"{m.group(1)} to {m.group(2)}" if m else None


# --------------------------------------------------------------------------------------------
# slides
# --------------------------------------------------------------------------------------------


def write_slides(output_dir: str | os.PathLike, path: str | os.PathLike | None = None, *,
                 maps: Sequence[str] = BOARD_MAPS,
                 info: Mapping[str, Any] | None = None) -> Path:
    """Slides of the key findings (``slides.pptx``): a title slide, Table A in board form,
    and one slide per key figure (Table A's chart and the maps), each picture carrying its
    title and source line (the PNG of ``figures/``).

    """
    from pptx import Presentation
    from pptx.util import Inches, Pt

    out = Path(output_dir)
    info = {**run_info(out), **dict(info or {})}
    prs = Presentation()
    prs.slide_width, prs.slide_height = Inches(13.333), Inches(7.5)
    s = prs.slides.add_slide(prs.slide_layouts[0])
    s.shapes.title.text = "Serious Violence Strategic Needs Assessment"
    s.placeholders[1].text = (f"{info['area']} — {info['year']}"
                              + ("\nSynthetic data: not real records" if info["synthetic"]
                                 else ""))
    table_a, entry = _table_a(out)
    if table_a is not None:
        board = table_a_board(table_a, year=str(info["year"]),
                              baseline=_baseline_words(entry.get("caption", "")))
        s = prs.slides.add_slide(prs.slide_layouts[5])
        s.shapes.title.text = "Table A: serious violence against the baseline"
        rows, cols = len(board) + 1, len(board.columns)
        shape = s.shapes.add_table(rows, cols, Inches(0.5), Inches(1.5), Inches(12.3),
                                   Inches(0.4 * rows))
        for j, c in enumerate(board.columns):
            shape.table.cell(0, j).text = str(c)
        for i, r in enumerate(board.astype(str).values.tolist(), start=1):
            for j, v in enumerate(r):
                shape.table.cell(i, j).text = v
        for cell in (shape.table.cell(i, j) for i in range(rows) for j in range(cols)):
            for par in cell.text_frame.paragraphs:
                for run in par.runs:
                    run.font.size = Pt(14)
    figures = [("01_key_findings", "table_a")] + [("04_geography", m) for m in maps]
    for chapter, name in figures:
        entry = sidecar_entry(out, chapter, "figures", name)
        if entry is None or not (out / entry["file"]).exists():
            continue
        s = prs.slides.add_slide(prs.slide_layouts[6])
        png = (out / entry["file"]).read_bytes()
        from matplotlib.image import imread

        h_px, w_px = imread(io.BytesIO(png)).shape[:2]
        height = 7.0
        width = height * w_px / h_px
        if width > 12.8:
            width, height = 12.8, 12.8 * h_px / w_px
        s.shapes.add_picture(io.BytesIO(png), Inches((13.333 - width) / 2),
                             Inches((7.5 - height) / 2), width=Inches(width))
    target = Path(path) if path is not None else out / "slides.pptx"
    target.parent.mkdir(parents=True, exist_ok=True)
    prs.save(str(target))
    return target
