"""The analyst-written sections of a needs assessment: one Markdown file, one section a heading.

The Serious Violence Duty's guidance expects a strategic needs assessment to say more than
the numbers can: the drivers of violence (risk and protective factors), the services that
exist and the gaps, what communities say, the theory of change, evaluation, funding, data
sharing and the recommendations. The analyst writes these in one Markdown file, named in the
config; :func:`read_narrative` splits it by its ``##`` headings and the report writers place
each section after the chapter it belongs with (:data:`SECTIONS`).

:func:`template` is the file to start from: the Duty's headings with a one-line prompt each.

Examples
--------
>>> text = template("Nottinghamshire", "2020/21")
>>> sections = parse_narrative(text)
>>> [s.key for s in sections][:3]
['recommendations', 'drivers', 'services']
>>> sections[0].is_prompt
True
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from .chapter import CHAPTER_TITLES
from .errors import ConfigError

__all__ = ["SECTIONS", "Section", "parse_narrative", "place", "read_narrative", "template",
           "write_template"]

#: The narrative sections, in report order: key, heading, the prompt the template gives,
#: and the chapter each follows in the report (its notebook name).
SECTIONS: tuple[tuple[str, str, str, str], ...] = (
    ("recommendations", "Recommendations",
     "What the partnership should do, in order of priority, each tied to a finding.",
     "01_key_findings"),
    ("drivers", "Drivers and risk factors",
     "The risk and protective factors behind serious violence here (individual, family, "
     "peers, school, community), with their evidence.",
     "06_people"),
    ("services", "Existing services and gaps",
     "The services that already work with the at-risk cohort, and the needs they do not meet.",
     "08_interventions"),
    ("community_voice", "Community voice",
     "What young people, families and communities told the partnership, and how.",
     "08_interventions"),
    ("theory_of_change", "Theory of change",
     "How the activities lead to the outcomes the partnership wants, and the assumptions.",
     "08_interventions"),
    ("evaluation", "Evaluation",
     "Which interventions are being evaluated, by whom, and what the results show so far.",
     "08_interventions"),
    ("funding", "Funding",
     "The funding by stream (core grant, other grants, partners' contributions) and how it "
     "is spent.",
     "08_interventions"),
    ("data_sharing", "Data sharing",
     "Progress in sharing data between partners, what is still missing, and the risks.",
     "08_interventions"),
)

_PROMPT = re.compile(r"^\s*<!--\s*prompt:.*?-->\s*$", re.S)


@dataclass(frozen=True)
class Section:
    """One narrative section: its key, heading, Markdown body and the chapter it follows."""

    key: str
    heading: str
    body: str
    after: str

    @property
    def is_prompt(self) -> bool:
        """True while the body is still the template's prompt (nothing written yet)."""
        return not self.body.strip() or bool(_PROMPT.match(self.body))

    @property
    def text(self) -> str:
        """The Markdown to publish: the body, or a visible "not yet written" line."""
        if self.is_prompt:
            return "*This section has not been written yet.*"
        return self.body.strip()


def _key_of(heading: str) -> tuple[str, str]:
    plain = re.sub(r"[^a-z ]", "", heading.lower())
    for key, name, _prompt, after in SECTIONS:
        words = re.sub(r"[^a-z ]", "", name.lower())
        if plain.strip() == words or plain.startswith(words.split(" and ")[0]):
            return key, after
    return re.sub(r"\W+", "_", heading.lower()).strip("_") or "section", "08_interventions"


def parse_narrative(text: str) -> list[Section]:
    """Split a narrative file into its sections (one per ``##`` heading), in file order.

    A heading the template knows (:data:`SECTIONS`; matched on its words, so "Drivers and
    risk factors" and "Drivers" both work) is placed after its chapter; any other heading
    after the interventions chapter. Text before the first ``##`` heading (a ``#`` title,
    notes to colleagues) is not published.

    >>> s = parse_narrative("# Narrative\\n\\n## Funding\\n\\nCore grant £880,000.\\n")
    >>> (s[0].key, s[0].after, s[0].text)
    ('funding', '08_interventions', 'Core grant £880,000.')
    """
    parts = re.split(r"^##\s+(.+?)\s*#*\s*$", text, flags=re.M)
    out = []
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        key, after = _key_of(heading)
        out.append(Section(key=key, heading=heading.strip(), body=body.strip("\n"), after=after))
    return out


def read_narrative(path: str | os.PathLike) -> list[Section]:
    """Read the narrative file named in the config.

    Raises
    ------
    ConfigError
        The file does not exist or has no ``##`` section (the message names it).
    """
    p = Path(path)
    if not p.is_file():
        raise ConfigError(f"the narrative file {p} does not exist; write one with "
                          "`sna narrative` and name it in the config", key="narrative")
    sections = parse_narrative(p.read_text(encoding="utf-8"))
    if not sections:
        raise ConfigError(f"the narrative file {p} has no '## ' section heading; each section "
                          "starts with one (see `sna narrative`)", key="narrative")
    return sections


def place(sections: list[Section], present: list[str]) -> dict[str, list[Section]]:
    """Which chapter each section follows: its own, or when that chapter was not run, the
    last one before it that was (else the first chapter run).

    Parameters
    ----------
    sections
        The narrative's sections.
    present
        The names of the chapters in the report, in report order.

    Returns
    -------
    dict
        ``{chapter name: [sections after it, in file order]}``.

    >>> s = parse_narrative("## Drivers\\n\\nx\\n\\n## Recommendations\\n\\ny\\n")
    >>> {k: [x.key for x in v] for k, v in place(s, ["04_geography", "08_interventions"]).items()}
    {'04_geography': ['drivers', 'recommendations']}
    """
    order = {name: i for i, name in enumerate(CHAPTER_TITLES)}
    out: dict[str, list[Section]] = {}
    if not present:
        return out
    for s in sections:
        if s.after in present:
            anchor = s.after
        else:
            limit = order.get(s.after, order["08_interventions"])
            before = [p for p in present if order.get(p, 99) <= limit]
            anchor = before[-1] if before else present[0]
        out.setdefault(anchor, []).append(s)
    return out


def template(area: str = "", year: str = "") -> str:
    """The narrative file to start from: the Duty's headings, each with a one-line prompt.

    The prompts are HTML comments, so a section left as it is prints "not written yet"
    rather than the prompt.
    """
    title = "Narrative sections of the needs assessment"
    if area or year:
        title += f": {area} {year}".rstrip()
    lines = [f"# {title}", "",
             "Write each section under its heading, in Markdown. Keep the headings; delete the",
             "prompt comments as you go. Text above the first section is not published.", ""]
    for _key, heading, prompt, _after in SECTIONS:
        lines += [f"## {heading}", "", f"<!-- prompt: {prompt} -->", ""]
    return "\n".join(lines)


def write_template(path: str | os.PathLike, *, area: str = "", year: str = "",
                   overwrite: bool = False) -> Path:
    """Write :func:`template` to ``path`` (never over an existing file unless asked).

    Raises
    ------
    ConfigError
        The file exists and ``overwrite`` is False.
    """
    p = Path(path)
    if p.exists() and not overwrite:
        raise ConfigError(f"{p} already exists; choose another name or remove it first",
                          key="narrative")
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(template(area, year), encoding="utf-8")
    return p
