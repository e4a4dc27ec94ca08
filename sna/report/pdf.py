"""Printing ``report.html`` to ``report.pdf`` with headless Chromium (the DevTools driver of
``sna.report._browser``, else Chromium's own ``--print-to-pdf``).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
from pathlib import Path

from .._log import logger
from ..errors import ChapterError
from ._browser import CHROMIUM_FLAGS, find_chromium

__all__ = [
    "print_pdf",
    "find_chromium",
]


def print_pdf(report: str | os.PathLike, pdf: str | os.PathLike, *, timeout: int = 180) -> Path:
    """Print ``report.html`` to PDF with headless Chromium, Chrome or Edge (A4 portrait, the
    page's styles).

    The browser is driven over its DevTools pipe (with a PDF outline) where the system allows
    it (Linux, macOS); elsewhere (Windows), or when that fails, the browser prints by itself
    (``--print-to-pdf``).

    Raises
    ------
    ChapterError
        when no Chromium is installed (the message says how to get one) or printing fails.
    """
    exe = find_chromium()
    if exe is None:
        raise ChapterError(
            "report.pdf was not made: no headless Chromium, Chrome or Edge was found. Install it "
            "(Debian/Ubuntu: 'sudo apt-get install chromium'; macOS/Windows: Google Chrome or "
            "Microsoft Edge, found at their usual install places) or set SNA_CHROMIUM to its path, "
            "then run again with --pdf; or open report.html in a browser and print it to PDF.")
    report, pdf = Path(report).resolve(), Path(pdf).resolve()
    try:  # the DevTools driver: the same page a browser shows, with a PDF outline
        from ._browser import Browser

        with Browser(exe, timeout=timeout) as browser:
            page = browser.new_page()
            page.goto(report)
            page.print_pdf(pdf, outline=True)
        if pdf.exists() and pdf.stat().st_size > 0:
            return pdf
    except ImportError:
        pass
    except Exception as exc:  # noqa: BLE001 - fall back to Chromium's own --print-to-pdf
        logger.warning("printing with the DevTools driver failed (%s); using --print-to-pdf", exc)
    with tempfile.TemporaryDirectory(prefix="sna-chromium-") as profile:
        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--no-pdf-header-footer",
               f"--print-to-pdf={pdf}", report.as_uri()]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            raise ChapterError(f"Chromium did not finish printing {report} in {timeout} s") from None
    if not pdf.exists() or pdf.stat().st_size == 0:
        raise ChapterError(f"Chromium could not print {report}: {proc.stderr.strip()[-500:]}")
    return pdf
