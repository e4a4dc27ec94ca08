"""The output checker's test of the text: counts written in the prose of HTML pages and Word
documents ("3 victims", "352 attendances") under the rule their noun calls for.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

from ._common import ROUND_TO, Finding
from .rules import RULES, SMALL_COUNTS

_NHS_NOUNS = r"attendances?|patients?|call-outs?|callouts?|admissions?|ambulance\s+calls?"
_COUNT_NOUNS = (r"victims?|offences?|offenders?|suspects?|incidents?|records?|people|persons?|"
                r"participants?|crimes?|children|young\s+people|injuries|deaths?|homicides?|"
                r"assaults?|stabbings?|shootings?|" + _NHS_NOUNS)
_PROSE_NUMBER = re.compile(
    r"(?<![\w.,\-–/])(\d{1,3}(?:,\d{3})+|\d+)(?![\w.,%\-–/])(?:\s+|\*\*\s*|</strong>\s*)"
    r"(?:[a-z&\-]+\s+){0,2}?(" + _COUNT_NOUNS + r")\b", re.IGNORECASE)
_PROSE_SKIP = re.compile(r"(?:fewer|less|more|under|over|below|above)\s+than\s*$|(?:aged|age|"
                         r"under|over|top|first|last|of)\s*$", re.IGNORECASE)

class _ProseText(HTMLParser):
    """The text of an HTML document outside tables, scripts and styles, by paragraph."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("table", "script", "style", "head"):
            self._skip += 1
        elif tag in ("p", "li", "div", "br", "h1", "h2", "h3", "h4", "figcaption", "td", "th"):
            self.parts.append("\n")

    def handle_endtag(self, tag):
        if tag in ("table", "script", "style", "head") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

def _prose_rule(ctx) -> str:
    """The rule for counts of people and offences in the text: ``legacy5`` when a table of
    the folder is under it (police extracts, interventions), ``none`` when every table is
    under ``none`` or the NHS rule (open data beside health data), else the default."""
    seen = set()
    for recs in ctx.meta.by_file.values():
        for r in recs:
            seen.update(x for x in [r.get("rule"), r.get("base_rule"),
                                    *(r.get("column_rules") or {}).values()] if x in RULES)
    if "legacy5" in seen:
        return "legacy5"
    if seen and seen <= {"none", "nhs2018"}:
        return "none"
    return ctx.default_rule

def check_prose(ctx, text: str, rel: str) -> None:
    """Counts written in prose: a number followed by a counted noun ("3 victims"). Under the
    NHS nouns (attendances, patients, call-outs, admissions) 1-7 must not appear and other
    counts must be multiples of 5; under the build's rule otherwise (1-5 for legacy5)."""
    parser = _ProseText()
    parser.feed(text)
    parser.close()
    for k, para in enumerate(p for p in " ".join(parser.parts).split("\n") if p.strip()):
        para = " ".join(para.split())
        for m in _PROSE_NUMBER.finditer(para):
            if _PROSE_SKIP.search(para[: m.start()]):
                continue
            x = float(m.group(1).replace(",", ""))
            nhs = re.fullmatch(_NHS_NOUNS, m.group(2), re.IGNORECASE) is not None
            rule = "nhs2018" if nhs else _prose_rule(ctx)
            if rule == "none" or x == 0:
                continue
            lo, hi = SMALL_COUNTS[rule]
            where = para[max(0, m.start() - 60): m.end() + 20].strip()
            if lo <= x <= hi:
                ctx.findings.append(Finding(rel, "prose", k + 1, where, m.group(2), m.group(1),
                                            "small_count", f"a count of {lo}-{hi} written in "
                                            "the text", rule))
            elif nhs and x % ROUND_TO:
                ctx.findings.append(Finding(rel, "prose", k + 1, where, m.group(2), m.group(1),
                                            "unrounded", "an NHS count in the text not rounded "
                                            "to a multiple of 5", rule))

def docx_text(path: Path) -> str:
    """A Word document's paragraphs (not its tables, which copy the published tables) as
    HTML paragraphs for :func:`check_prose`."""
    import html as _html

    import docx

    doc = docx.Document(str(path))
    return "".join(f"<p>{_html.escape(p.text)}</p>" for p in doc.paragraphs if p.text.strip())
