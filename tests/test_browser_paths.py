"""The PDF helper finds Chrome or Edge on Windows and macOS (their default install places), and
prints with the browser's own --print-to-pdf where the DevTools pipe is not available."""

from __future__ import annotations

import shutil
import stat
from pathlib import Path

import pytest

from sna.errors import ChapterError
from sna.report import _browser, pdf
from sna.report._browser import browser_paths, find_chromium


def test_default_places_on_windows_and_macos():
    env = {"PROGRAMFILES": r"C:\Program Files", "PROGRAMFILES(X86)": r"C:\Program Files (x86)",
           "LOCALAPPDATA": r"C:\Users\a\AppData\Local"}
    win = browser_paths("Windows", env)
    assert [p.parts[-4:] for p in win[:1]] == [("Google", "Chrome", "Application", "chrome.exe")]
    assert sum(p.name == "chrome.exe" for p in win) == 3 and sum(p.name == "msedge.exe" for p in win) == 3
    assert win.index(next(p for p in win if p.name == "msedge.exe")) == 3  # Chrome first, then Edge
    mac = [str(p) for p in browser_paths("Darwin", {"HOME": "/Users/a"})]
    assert mac[:2] == ["/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                       "/Users/a/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"]
    assert "/Applications/Microsoft Edge.app/Contents/MacOS/Microsoft Edge" in mac
    assert browser_paths("Linux", {}) == []


def _fake_exe(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\n")
    path.chmod(path.stat().st_mode | stat.S_IEXEC)
    return path


@pytest.mark.parametrize("system, rel", [
    ("Windows", Path("Microsoft", "Edge", "Application", "msedge.exe")),  # only Edge installed
    ("Darwin", Path("Applications", "Google Chrome.app", "Contents", "MacOS", "Google Chrome")),
])
def test_find_chromium_off_the_path(tmp_path, monkeypatch, system, rel):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("SNA_CHROMIUM", raising=False)
    monkeypatch.setattr(_browser.platform, "system", lambda: system)
    root = tmp_path / "root"
    monkeypatch.setenv("PROGRAMFILES", str(root))
    monkeypatch.setenv("HOME", str(root))
    assert find_chromium() is None
    exe = _fake_exe(root / rel)  # on macOS, HOME/Applications (the per-user folder)
    assert find_chromium() == str(exe)
    monkeypatch.setenv("SNA_CHROMIUM", str(_fake_exe(tmp_path / "mine" / "chrome")))
    assert find_chromium() == str(tmp_path / "mine" / "chrome")


@pytest.mark.skipif(not any(shutil.which(n) for n in ("chromium", "google-chrome", "chromium-browser")),
                    reason="needs Chromium (.ci/run installs it)")
def test_prints_without_the_devtools_pipe(tmp_path, monkeypatch):
    # as on Windows, where the DevTools pipe is refused: the browser prints by itself
    def refuse(*args, **kwargs):
        raise ChapterError("driving Chromium over its DevTools pipe needs a POSIX system")

    monkeypatch.setattr(_browser, "Browser", refuse)
    page = tmp_path / "report.html"
    page.write_text("<html><body><h1>Report</h1><p>Serious violence.</p></body></html>", encoding="utf-8")
    out = pdf.print_pdf(page, tmp_path / "report.pdf", timeout=120)
    assert out.read_bytes()[:5] == b"%PDF-"
