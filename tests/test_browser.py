"""The demo's report.html in a real browser (headless Chromium over the DevTools protocol).

Checks what a reader or a board member would meet: every image loads, every contents link
lands on its chapter or section, the page logs no console error, tables and figures fit the
width of an A4-portrait page when printed, figures and table rows are kept whole across
pages, and the PDF (``sna run --pdf``) has every chapter, each starting on a new page.
Saves a screenshot per chapter in the test's temporary folder (``screenshots/``).

Environment variables:

- ``SNA_SCREENSHOTS=<folder>``: also small copies of the chapter screenshots there (the
  docs use ``docs/_static/screenshots``);
- ``SNA_README_IMAGES=<folder>``: the README's ``report.png`` and ``map.png`` there
  (``docs/_static/readme``);
- ``SNA_BROWSER_REPORT=<report.html>``: check a report made earlier instead of running the
  demo.

Refresh the committed pictures with::

    SNA_SCREENSHOTS=docs/_static/screenshots SNA_README_IMAGES=docs/_static/readme \
        .venv/bin/pytest tests/test_browser.py

Skipped when no Chromium / Chrome is installed (``.ci/run`` installs Debian's ``chromium``);
the PDF checks also skip without poppler's ``pdfinfo`` / ``pdftotext``.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sna import report
from sna.report._browser import (
    A4_CONTENT_WIDTH_PX,
    A4_HEIGHT_MM,
    TOP_MARGIN_MM,
    Browser,
    find_chromium,
    mm_to_px,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

NO_CHROMIUM = ("no headless Chromium/Chrome found (Debian: apt-get install chromium; or set "
               "SNA_CHROMIUM); .ci/run installs it")

#: Screen layout used for the checks and the screenshots (a laptop browser window).
SCREEN_WIDTH, SCREEN_HEIGHT = 1000, 1200
#: Printed page body height in CSS px (A4 minus top and bottom margins).
PAGE_HEIGHT_PX = mm_to_px(A4_HEIGHT_MM - 2 * TOP_MARGIN_MM)
#: Size limit for the screenshots kept in the docs.
DOCS_PNG_LIMIT = 300_000

_IMAGES_JS = """(async () => {
  const imgs = [...document.images];
  await Promise.all(imgs.map(i => i.decode().catch(() => null)));
  return {
    count: imgs.length,
    broken: imgs.filter(i => !i.complete || i.naturalWidth === 0)
                .map(i => (i.alt || i.getAttribute('src') || '').slice(0, 80)),
    figures: document.querySelectorAll('figure.sna-figure img').length,
    noAlt: imgs.filter(i => !(i.alt || '').trim())
               .map(i => (i.getAttribute('src') || '').slice(0, 40)),
  };
})()"""

_LINKS_JS = """(async () => {
  const frame = () => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)));
  const out = [];
  const maxScroll = () => document.documentElement.scrollHeight - innerHeight;
  for (const a of document.querySelectorAll('nav.sna-contents a')) {
    const href = a.getAttribute('href') || '';
    const id = href.startsWith('#') ? decodeURIComponent(href.slice(1)) : null;
    const target = id ? document.getElementById(id) : null;
    const parent = a.closest('li').parentElement.closest('li');
    const chapter = parent ? parent.querySelector(':scope > a').getAttribute('href').slice(1) : id;
    const section = target ? target.closest('section.chapter') : null;
    let landed = false;
    if (target) {
      window.scrollTo(0, 0); await frame();
      a.click(); await frame();
      const top = target.getBoundingClientRect().top;
      landed = Math.abs(top) <= 2 || (top > 0 && Math.abs(scrollY - maxScroll()) <= 2);
    }
    out.push({href, text: a.textContent.trim(), exists: !!target, landed,
              chapter, section: section ? section.id : null});
  }
  window.scrollTo(0, 0);
  return out;
})()"""

_CHAPTERS_JS = """[...document.querySelectorAll('section.chapter')].map(s => {
  const r = s.getBoundingClientRect();
  return {id: s.id, title: s.querySelector('h1').textContent.trim(),
          top: r.top + scrollY, height: r.height, left: r.left, width: r.width};
})"""

_CAPTIONS_JS = """[...document.querySelectorAll('section.chapter')].map(s => ({
  id: s.id, number: s.dataset.chapter,
  figures: [...s.querySelectorAll('figure')].map(f =>
    (f.querySelector('figcaption') || {textContent: ''}).textContent.trim()),
  tables: [...s.querySelectorAll('table')].map(t => {
    const c = t.closest('.sna-tablewrap')?.querySelector('.sna-caption');
    return c ? c.textContent.trim() : '';
  }),
}))"""

# In print layout at the printed text width: anything wider than the page, anything whose
# overflow is hidden or scrolled (cut on paper), figures taller than a page, break rules.
_PRINT_JS = """(() => {
  const W = document.documentElement.clientWidth;
  const name = el => {
    const box = el.closest('figure, .sna-tablewrap, [id]');
    const cap = box && box.querySelector('figcaption, .sna-caption, caption');
    return (el.tagName.toLowerCase() + (el.className && typeof el.className === 'string'
            ? '.' + el.className.split(' ')[0] : '') + ' in ' +
            (cap ? cap.textContent.trim().slice(0, 70) : (box ? '#' + box.id : '?')));
  };
  const wide = [], cut = [];
  for (const el of document.querySelectorAll('body *')) {
    const r = el.getBoundingClientRect();
    if (!r.width && !r.height) continue;
    if (r.right > W + 1 || r.left < -1) {
      if (!wide.some(w => w.el.contains(el))) wide.push({el, right: Math.round(r.right)});
    }
    const ox = getComputedStyle(el).overflowX;
    if (ox !== 'visible' && el.scrollWidth > el.clientWidth + 1 && el.tagName !== 'HTML'
        && el.tagName !== 'BODY') {
      cut.push({what: name(el), scroll: el.scrollWidth, client: el.clientWidth});
    }
  }
  const style = sel => [...document.querySelectorAll(sel)].map(e => getComputedStyle(e));
  return {
    width: W, scrollWidth: document.documentElement.scrollWidth,
    wide: wide.map(w => ({what: name(w.el), right: w.right})), cut,
    figures: [...document.querySelectorAll('figure')].map(f => ({
      what: name(f), height: f.getBoundingClientRect().height,
      breakInside: getComputedStyle(f).breakInside})),
    rows: style('tr').filter(s => s.breakInside !== 'avoid').length,
    chapterBreaks: style('section.chapter').map(s => s.breakBefore),
    tables: document.querySelectorAll('main table').length,
  };
})()"""


# ---- the run and the browser ------------------------------------------------------------
@pytest.fixture(scope="module")
def page_html(request):
    """The demo run's report.html (the session's shared run), or ``$SNA_BROWSER_REPORT``: a
    report.html made earlier, to check it without running the batch again."""
    given = os.environ.get("SNA_BROWSER_REPORT")
    if given:
        path = Path(given)
    else:
        path = request.getfixturevalue("demo_run").output_dir / "report.html"
    assert path.exists(), f"no report.html at {path}"
    return path


@pytest.fixture(scope="module")
def shots_dir(tmp_path_factory):
    """Where the screenshots and the PDF go (not the run folder, which other tests check)."""
    return tmp_path_factory.mktemp("browser")


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        pytest.skip(NO_CHROMIUM)
    with Browser() as b:
        yield b


@pytest.fixture(scope="module")
def screen(browser, page_html, shots_dir):
    """The report as a reader sees it: loaded once, inspected, screenshotted."""
    page = browser.new_page(SCREEN_WIDTH, SCREEN_HEIGHT)
    page.goto(page_html)
    info = {
        "images": page.evaluate(_IMAGES_JS),
        "links": page.evaluate(_LINKS_JS),
        "chapters": page.evaluate(_CHAPTERS_JS),
        "captions": page.evaluate(_CAPTIONS_JS),
    }
    info["problems"] = page.problems()
    info["shots"] = _screenshots(page, info["chapters"], shots_dir / "screenshots")
    yield info
    page.close()


@pytest.fixture(scope="module")
def printed(browser, page_html):
    """The report laid out for print at the width of an A4-portrait text block."""
    page = browser.new_page(A4_CONTENT_WIDTH_PX, int(PAGE_HEIGHT_PX))
    page.emulate_media("print")
    page.goto(page_html)
    info = page.evaluate(_PRINT_JS)
    info["problems"] = page.problems()
    yield info
    page.close()


# ---- the checks catch what they look for -----------------------------------------------
_BROKEN = """<!DOCTYPE html><html><head><style>.sna-tablewrap{overflow-x:auto}
@media print{.sna-tablewrap{overflow:visible} figure{break-inside:avoid}}</style></head><body>
<nav class="sna-contents"><ol><li><a href="#ch-a">A</a><ol><li><a href="#nowhere">x</a></li>
</ol></li></ol></nav><main><section class="chapter" id="ch-a" data-chapter="1"><h1>1. A</h1>
<figure><img src="missing.png"><figcaption>Figure 1.2. Out of order.</figcaption></figure>
<div class="sna-tablewrap"><p class="sna-caption">A table without its number.</p>
<table><tr>%s</tr></table></div>
<pre style="overflow:hidden;width:100px">%s</pre>
<script>console.error("boom"); undefinedFunction();</script></section></main></body></html>"""


def test_the_checks_catch_a_broken_page(browser, tmp_path):
    path = tmp_path / "broken.html"
    cells = "".join(f"<td>unbreakable_cell_value_{i}</td>" for i in range(30))
    path.write_text(_BROKEN % (cells, "x" * 300), encoding="utf-8")
    page = browser.new_page(SCREEN_WIDTH, SCREEN_HEIGHT)
    page.goto(path)
    images = page.evaluate(_IMAGES_JS)
    assert images["broken"] == ["missing.png"] and images["noAlt"] == ["missing.png"]
    links = {lk["href"]: lk for lk in page.evaluate(_LINKS_JS)}
    assert links["#ch-a"]["landed"] and not links["#nowhere"]["exists"]
    caps = page.evaluate(_CAPTIONS_JS)[0]
    assert caps["figures"] == ["Figure 1.2. Out of order."]
    assert caps["tables"] == ["A table without its number."]
    problems = page.problems()
    assert any("boom" in p for p in problems) and any("undefinedFunction" in p for p in problems)
    assert any("missing.png" in p for p in problems)
    page.close()
    page = browser.new_page(A4_CONTENT_WIDTH_PX, int(PAGE_HEIGHT_PX))
    page.emulate_media("print")
    page.goto(path)
    printed = page.evaluate(_PRINT_JS)
    page.close()
    assert [w["what"] for w in printed["wide"]] == ["table in A table without its number."]
    assert [c["what"].split(" ")[0] for c in printed["cut"]] == ["pre"] and printed["rows"] == 1
    assert printed["scrollWidth"] > A4_CONTENT_WIDTH_PX


def test_no_browser_says_how_to_get_one(monkeypatch):
    from sna.report import _browser
    from sna.errors import ChapterError

    monkeypatch.setattr(_browser, "find_chromium", lambda: None)
    with pytest.raises(ChapterError, match="apt-get install chromium.*SNA_CHROMIUM"):
        _browser.Browser()


# ---- the checks on the demo report ------------------------------------------------------
def test_report_has_every_chapter_in_order(screen):
    ids = [c["id"] for c in screen["chapters"]]
    assert ids == [f"ch-{name}" for name in report.CHAPTERS]
    assert all(c["height"] > 100 for c in screen["chapters"]), "an empty chapter"


def test_every_image_loads(screen):
    imgs = screen["images"]
    assert imgs["count"] >= 8 and imgs["figures"] >= 8, imgs
    assert imgs["broken"] == [], f"images that did not load: {imgs['broken']}"
    assert imgs["noAlt"] == [], "images without a text alternative (alt)"


def test_every_contents_link_lands_on_its_chapter(screen):
    links = screen["links"]
    chapters = [lk for lk in links if lk["chapter"] == lk["href"][1:]]
    assert len(chapters) == len(report.CHAPTERS)
    missing = [lk["href"] for lk in links if not lk["exists"]]
    assert missing == [], f"contents links to no anchor: {missing}"
    elsewhere = [lk["href"] for lk in links if lk["section"] != lk["chapter"]]
    assert elsewhere == [], f"contents links outside their chapter: {elsewhere}"
    not_landed = [lk["href"] for lk in links if not lk["landed"]]
    assert not_landed == [], f"clicking these did not bring their target to the top: {not_landed}"
    assert len(links) > len(chapters), "the contents list no sections"


def test_figures_and_tables_are_numbered_and_captioned_in_order(screen):
    for ch in screen["captions"]:
        n = ch["number"]
        for kind, caps in (("Figure", ch["figures"]), ("Table", ch["tables"])):
            found = [re.match(rf"{kind} {n}\.(\d+)\.\s+\S", c) for c in caps]
            bad = [c[:60] or "(no caption)" for c, m in zip(caps, found) if not m]
            assert bad == [], f"{ch['id']}: {kind.lower()}s without a numbered caption: {bad}"
            numbers = [int(m.group(1)) for m in found]
            assert numbers == list(range(1, len(caps) + 1)), f"{ch['id']}: {kind}s {numbers}"


def test_no_console_errors(screen, printed):
    assert screen["problems"] == [], screen["problems"]
    assert printed["problems"] == [], printed["problems"]


def test_tables_and_figures_fit_an_a4_portrait_page(printed):
    assert printed["width"] == A4_CONTENT_WIDTH_PX and printed["tables"] > 0
    assert printed["wide"] == [], (
        f"wider than the printed page ({A4_CONTENT_WIDTH_PX} px): {printed['wide']}")
    assert printed["cut"] == [], f"content cut off (hidden or scrolled overflow): {printed['cut']}"
    assert printed["scrollWidth"] <= printed["width"]


def test_figures_and_rows_are_kept_whole_and_chapters_start_a_page(printed):
    assert printed["figures"]
    tall = [f["what"] for f in printed["figures"] if f["height"] > PAGE_HEIGHT_PX]
    assert tall == [], f"figures taller than a printed page: {tall}"
    assert {f["breakInside"] for f in printed["figures"]} == {"avoid"}
    assert printed["rows"] == 0, "table rows that may split across pages"
    assert set(printed["chapterBreaks"]) == {"page"}


def test_a_screenshot_per_chapter(screen):
    from PIL import Image

    shots = screen["shots"]
    assert [p.stem for p in shots] == list(report.CHAPTERS)
    for p in shots:
        with Image.open(p) as im:
            assert 600 < im.width <= SCREEN_WIDTH and im.height > 200
            lo, hi = im.convert("L").getextrema()
            assert hi - lo > 100, f"{p.name} is blank"


# ---- the PDF ----------------------------------------------------------------------------
_NEEDS_POPPLER = pytest.mark.skipif(
    not (shutil.which("pdfinfo") and shutil.which("pdftotext") and shutil.which("pdfimages")),
    reason="poppler-utils (pdfinfo, pdftotext, pdfimages) not installed")


@pytest.fixture(scope="module")
def pdf(browser, page_html, shots_dir):
    return report.print_pdf(page_html, shots_dir / "report.pdf")


def _pdf_pages(path: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(path), "-"], capture_output=True,
                          text=True, check=True).stdout
    return text.split("\f")[:-1] if text.endswith("\f") else text.split("\f")


@_NEEDS_POPPLER
def test_pdf_is_a4_portrait_with_every_chapter_on_a_new_page(pdf, screen):
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True,
                          check=True).stdout
    assert re.search(r"Page size:\s+59\d\.\d+ x 841\.\d+ pts \(A4\)", info), info
    pages = _pdf_pages(pdf)
    assert len(pages) == int(re.search(r"Pages:\s+(\d+)", info).group(1))
    firsts = [next((ln.strip() for ln in p.splitlines() if ln.strip()), "") for p in pages]
    after = 0  # the contents list can also start a page with a chapter's title
    for ch in screen["chapters"]:
        title = re.sub(r"\s*Synthetic data$", "", ch["title"])
        hits = [i for i, first in enumerate(firsts) if i > after and first.startswith(title)]
        assert hits, f"chapter {title!r} does not start a page of the PDF after page {after + 1}"
        after = hits[0]
    n = len(pages)
    assert f"page {n} of {n}" in pages[-1], "no page numbers in the footer"
    text = " ".join(" ".join(p.split()) for p in pages)
    labels = [re.match(r"(?:Figure|Table) \d+\.\d+\.", c).group(0)
              for ch in screen["captions"] for c in ch["figures"] + ch["tables"]]
    missing = [lb for lb in labels if lb not in text]
    assert labels and missing == [], f"captions missing from the PDF: {missing}"


@_NEEDS_POPPLER
def test_pdf_figures_are_not_cut_across_pages(pdf, screen):
    rows = subprocess.run(["pdfimages", "-list", str(pdf)], capture_output=True, text=True,
                          check=True).stdout.splitlines()[2:]
    pages_of: dict[str, set[int]] = {}
    for row in rows:
        f = row.split()
        if f[2] == "image":  # page num type width height color comp bpc enc interp object ID
            pages_of.setdefault(f"{f[10]} {f[11]}", set()).add(int(f[0]))
    assert len(pages_of) >= screen["images"]["figures"]
    split = {obj: sorted(p) for obj, p in pages_of.items() if len(p) > 1}
    assert split == {}, f"images drawn on more than one page (cut): {split}"


# ---- screenshots ------------------------------------------------------------------------
def _screenshots(page, chapters: list[dict], folder: Path) -> list[Path]:
    """A screenshot of the top of each chapter; small copies for the docs when asked."""
    docs = os.environ.get("SNA_SCREENSHOTS")
    shots = []
    for ch in chapters:
        name = ch["id"].removeprefix("ch-")
        clip = {"x": max(ch["left"] - 16, 0), "y": max(ch["top"] - 12, 0),
                "width": min(ch["width"] + 32, SCREEN_WIDTH),
                "height": min(ch["height"] + 24, 1600)}
        shots.append(page.screenshot(folder / f"{name}.png", clip=clip))
        if docs:
            _small_copy(shots[-1], Path(docs) / f"{name}.png")
    readme = os.environ.get("SNA_README_IMAGES")
    if readme:
        _readme_images(page, chapters, Path(readme), folder)
    return shots


def _readme_images(page, chapters: list[dict], folder: Path, tmp: Path) -> None:
    """report.png: the top of the report; map.png: the geography chapter's density (hot spot)
    map, else its Gi* map."""
    body = page.evaluate("(() => { const r = document.querySelector('main')"
                         ".getBoundingClientRect(); return {x: r.left, width: r.width}; })()")
    top = page.screenshot(tmp / "readme-report.png",
                          clip={"x": max(body["x"] - 16, 0), "y": 0, "width": body["width"] + 32,
                                "height": 1000})
    _small_copy(top, folder / "report.png")
    box = page.evaluate("""(() => {
      const figs = [...document.querySelectorAll('#ch-04_geography figure')];
      const f = figs.find(f => /density|KDE/i.test(f.textContent))
             || figs.find(f => /Gi\\*|hot ?spot/i.test(f.textContent)) || figs[0];
      if (!f) return null;
      const r = f.getBoundingClientRect();
      return {x: r.left - 8, y: r.top + scrollY - 8, width: r.width + 16, height: r.height + 16};
    })()""")
    assert box, "the geography chapter has no figure for the README map"
    _small_copy(page.screenshot(tmp / "readme-map.png", clip=box, scale=1.5), folder / "map.png")


def _small_copy(src: Path, dest: Path, limit: int = DOCS_PNG_LIMIT) -> Path:
    """Copy a PNG, reduced to a palette (and if need be downscaled) to stay under ``limit``."""
    from PIL import Image

    dest.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(src) as im:
        im = im.convert("RGB")
        scale = 1.0
        while True:
            out = im if scale == 1.0 else im.resize(
                (round(im.width * scale), round(im.height * scale)), Image.LANCZOS)
            out.quantize(colors=256, method=Image.Quantize.MEDIANCUT,
                         dither=Image.Dither.NONE).save(dest, optimize=True)
            if dest.stat().st_size <= limit or scale < 0.4:
                return dest
            scale *= 0.85
