"""Drive headless Chromium over the DevTools protocol, standard library only.

The browser is started with ``--remote-debugging-pipe``: it reads protocol commands from file
descriptor 3 and writes replies and events to file descriptor 4, as JSON messages ended by a
NUL byte. No port is opened and no websocket library is needed, which suits closed networks
and CI containers. Used by :func:`sna.report.print_pdf` (the report's PDF, made from the same
page a browser shows) and by ``tests/test_browser.py`` (images load, contents links land,
no console errors, tables and figures fit an A4-portrait page, a screenshot per chapter).

Examples
--------
>>> from sna.report._browser import A4_CONTENT_WIDTH_PX, mm_to_px
>>> round(mm_to_px(210), 1)  # an A4 page is 793.7 CSS pixels wide
793.7
>>> A4_CONTENT_WIDTH_PX  # minus the report's 14 mm side margins
687
"""

from __future__ import annotations

import base64
import json
import os
import platform
import select
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ChapterError

__all__ = ["Browser", "Page", "find_chromium", "browser_paths", "BROWSER_NAMES", "mm_to_px",
           "A4_CONTENT_WIDTH_PX", "CHROMIUM_FLAGS"]

#: Flags for a quiet headless browser that makes no network connections of its own.
CHROMIUM_FLAGS: tuple[str, ...] = (
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-extensions", "--disable-dev-shm-usage", "--hide-scrollbars",
    "--mute-audio", "--no-default-browser-check",
)

#: The printed page of the report: A4 portrait with the 14 mm side margins of its ``@page``.
A4_WIDTH_MM, A4_HEIGHT_MM, SIDE_MARGIN_MM, TOP_MARGIN_MM = 210.0, 297.0, 14.0, 15.0


def mm_to_px(mm: float) -> float:
    """CSS pixels in ``mm`` millimetres (96 px to the inch)."""
    return mm * 96.0 / 25.4


#: Width of the printed text block in CSS pixels (A4 minus both side margins), rounded down.
A4_CONTENT_WIDTH_PX: int = int(mm_to_px(A4_WIDTH_MM - 2 * SIDE_MARGIN_MM))


#: Browser commands looked for on ``PATH``, in order.
BROWSER_NAMES: tuple[str, ...] = (
    "chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome",
    "msedge", "microsoft-edge", "microsoft-edge-stable",
)


def browser_paths(system: str | None = None, environ: "Mapping[str, str] | None" = None) -> list[Path]:
    """Where Chrome, Edge and Chromium are installed by default on Windows and macOS.

    Parameters
    ----------
    system
        ``"Windows"``, ``"Darwin"`` (macOS) or another (``platform.system()`` by default).
    environ
        The environment (``os.environ`` by default): on Windows ``PROGRAMFILES``,
        ``PROGRAMFILES(X86)`` and ``LOCALAPPDATA`` give the install folders.

    Returns
    -------
    list of pathlib.Path
        Candidates in order of preference (Chrome, then Edge, then Chromium); none on Linux,
        where browsers are on ``PATH``.

    Examples
    --------
    >>> [p.name for p in browser_paths("Windows", {"PROGRAMFILES": "C:/Program Files"})]
    ['chrome.exe', 'msedge.exe']
    >>> str(browser_paths("Darwin", {"HOME": "/Users/a"})[0])
    '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'
    """
    system = system or platform.system()
    env = os.environ if environ is None else environ
    if system == "Windows":
        roots = [env.get(k) for k in ("PROGRAMFILES", "PROGRAMFILES(X86)", "LOCALAPPDATA")]
        roots = [r for r in dict.fromkeys(roots) if r]
        return ([Path(r, "Google", "Chrome", "Application", "chrome.exe") for r in roots]
                + [Path(r, "Microsoft", "Edge", "Application", "msedge.exe") for r in roots])
    if system == "Darwin":
        apps = [Path("/Applications")] + ([Path(env["HOME"], "Applications")] if env.get("HOME") else [])
        names = [("Google Chrome", "Google Chrome"), ("Microsoft Edge", "Microsoft Edge"),
                 ("Chromium", "Chromium")]
        return [a / f"{app}.app" / "Contents" / "MacOS" / exe for app, exe in names for a in apps]
    return []


def find_chromium() -> str | None:
    """The Chromium, Chrome or Edge to use: ``$SNA_CHROMIUM``, else the first on ``PATH``
    (``BROWSER_NAMES``), else the first installed at its default place on Windows or macOS
    (``browser_paths``)."""
    env = os.environ.get("SNA_CHROMIUM")
    if env and Path(env).exists():
        return env
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    for path in browser_paths():
        if path.is_file():
            return str(path)
    return None


class Browser:
    """A headless Chromium process and its DevTools pipe; use as a context manager.

    Parameters
    ----------
    executable
        The browser; default :func:`find_chromium`.
    timeout
        Seconds to wait for any one protocol reply.

    Raises
    ------
    ChapterError
        when no browser is found, or it does not start or answer.
    """

    def __init__(self, executable: str | None = None, *, timeout: float = 120.0):
        if os.name != "posix":
            raise ChapterError("driving Chromium over its DevTools pipe needs a POSIX system "
                               "(Linux, macOS); print report.html from the browser instead")
        exe = executable or find_chromium()
        if exe is None:
            raise ChapterError(
                "no headless Chromium or Chrome was found: install it (Debian/Ubuntu: "
                "'sudo apt-get install chromium'; macOS/Windows: Google Chrome) or set "
                "SNA_CHROMIUM to its path")
        self.timeout = timeout
        self.events: list[dict] = []
        self._id = 0
        self._buf = b""
        self._profile = tempfile.TemporaryDirectory(prefix="sna-chromium-")
        to_browser_r, self._out = os.pipe()
        self._in, from_browser_w = os.pipe()

        def _child_fds() -> None:  # the pipe ends at fds 3 and 4 in the child
            r, w = os.dup(to_browser_r), os.dup(from_browser_w)
            os.dup2(r, 3)
            os.dup2(w, 4)
            os.set_inheritable(3, True)
            os.set_inheritable(4, True)

        cmd = [exe, *CHROMIUM_FLAGS, f"--user-data-dir={self._profile.name}",
               "--remote-debugging-pipe", "about:blank"]
        # stderr to a file: a chatty browser must never block on a full pipe
        self._stderr = open(Path(self._profile.name) / "stderr.log", "w+b")  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=self._stderr,
                                          preexec_fn=_child_fds, close_fds=False)
        except OSError as exc:
            self._close_fds(to_browser_r, from_browser_w, self._in, self._out)
            self._stderr.close()
            self._profile.cleanup()
            raise ChapterError(f"could not start {exe}: {exc}") from None
        os.close(to_browser_r)
        os.close(from_browser_w)
        try:
            self.version = self.send("Browser.getVersion")
        except ChapterError:
            self.close()
            raise

    # ---- the protocol ------------------------------------------------------------------
    def send(self, method: str, params: dict | None = None, *, session: str | None = None,
             timeout: float | None = None) -> dict:
        """Send one command and return its result (events met meanwhile go to ``events``)."""
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        data = json.dumps(msg).encode() + b"\0"
        while data:
            n = os.write(self._out, data)
            data = data[n:]
        want = self._id
        for reply in self._messages(timeout):
            if reply.get("id") == want:
                if "error" in reply:
                    why = reply["error"].get("message")
                    raise ChapterError(f"Chromium refused {method}: {why}")
                return reply.get("result", {})
            self.events.append(reply)
        raise AssertionError("unreachable")  # pragma: no cover

    def wait_for(self, method: str, *, session: str | None = None,
                 timeout: float | None = None) -> dict:
        """Wait for an event (or take it if it already came); returns its params."""
        for i, ev in enumerate(self.events):
            if ev.get("method") == method and (session is None or ev.get("sessionId") == session):
                del self.events[i]
                return ev.get("params", {})
        for ev in self._messages(timeout):
            if ev.get("method") == method and (session is None or ev.get("sessionId") == session):
                return ev.get("params", {})
            self.events.append(ev)
        raise AssertionError("unreachable")  # pragma: no cover

    def _messages(self, timeout: float | None) -> Iterator[dict]:
        wait = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + wait
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                if raw:
                    yield json.loads(raw)
            left = deadline - time.monotonic()
            if left <= 0:
                raise ChapterError(f"Chromium did not answer in {wait:.0f} s")
            ready, _, _ = select.select([self._in], [], [], min(left, 1.0))
            if ready:
                chunk = os.read(self._in, 1 << 20)
                if not chunk:
                    err = self._stderr_tail()
                    raise ChapterError(f"Chromium closed its DevTools pipe. {err}".strip())
                self._buf += chunk
            elif self._proc.poll() is not None:
                raise ChapterError(f"Chromium exited ({self._proc.returncode}). "
                                   f"{self._stderr_tail()}".strip())

    def _stderr_tail(self) -> str:
        self._stderr.flush()
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        self._stderr.seek(0, os.SEEK_END)
        return text[-500:]

    # ---- pages -------------------------------------------------------------------------
    def new_page(self, width: int = 1024, height: int = 768) -> Page:
        """A new tab with a ``width`` x ``height`` CSS-pixel viewport."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})
        page = Page(self, target, session["sessionId"])
        for domain in ("Page.enable", "Runtime.enable", "Log.enable"):
            page.send(domain)
        page.set_viewport(width, height)
        return page

    # ---- lifetime ----------------------------------------------------------------------
    def close(self) -> None:
        """Close the browser and remove its temporary profile."""
        if getattr(self, "_proc", None) is None:
            return
        if self._proc.poll() is None:
            try:
                msg = json.dumps({"id": self._id + 1, "method": "Browser.close"}).encode() + b"\0"
                os.write(self._out, msg)
            except OSError:
                pass
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait()
        self._stderr.close()
        self._close_fds(self._in, self._out)
        self._proc = None
        self._profile.cleanup()

    @staticmethod
    def _close_fds(*fds: int) -> None:
        for fd in fds:
            try:
                os.close(fd)
            except OSError:
                pass

    def __enter__(self) -> Browser:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class Page:
    """One tab of a :class:`Browser`: load a page, run script, screenshot, print."""

    def __init__(self, browser: Browser, target: str, session: str):
        self.browser, self.target, self.session = browser, target, session

    def send(self, method: str, params: dict | None = None, **kw) -> dict:
        return self.browser.send(method, params, session=self.session, **kw)

    def set_viewport(self, width: int, height: int, scale: float = 1.0) -> None:
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": int(width), "height": int(height), "deviceScaleFactor": scale,
                   "mobile": False})

    def emulate_media(self, media: str = "") -> None:
        """``"print"`` to lay the page out with its print styles, ``""`` for the screen."""
        self.send("Emulation.setEmulatedMedia", {"media": media})

    def goto(self, url: str | os.PathLike, *, timeout: float | None = None) -> None:
        """Load ``url`` (a path becomes a ``file://`` URL) and wait for its load event."""
        if not str(url).startswith(("http:", "https:", "file:", "about:", "data:")):
            url = Path(url).resolve().as_uri()
        result = self.send("Page.navigate", {"url": str(url)})
        if result.get("errorText"):
            raise ChapterError(f"Chromium could not open {url}: {result['errorText']}")
        self.browser.wait_for("Page.loadEventFired", session=self.session, timeout=timeout)
        self.evaluate("document.fonts.ready.then(() => true)")

    def evaluate(self, expression: str) -> Any:
        """Run JavaScript in the page; returns its (JSON) value, awaiting a promise."""
        r = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True,
                                           "awaitPromise": True})
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = (d.get("exception") or {}).get("description") or d.get("text")
            raise ChapterError(f"script failed in the page: {text}")
        return r.get("result", {}).get("value")

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads reported so far by this page."""
        out = []
        for ev in self.browser.events:
            if ev.get("sessionId") != self.session:
                continue
            m, p = ev.get("method"), ev.get("params", {})
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                args = " ".join(str(a.get("value", a.get("description", "")))
                                for a in p.get("args", []))
                out.append(f"console.{p['type']}: {args}")
            elif m == "Runtime.exceptionThrown":
                d = p.get("exceptionDetails", {})
                out.append("exception: " + str((d.get("exception") or {}).get("description")
                                               or d.get("text")))
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                e = p["entry"]
                out.append(f"{e.get('source')}: {e.get('text')} {e.get('url', '')}".strip())
        return out

    def screenshot(self, path: str | os.PathLike, *, clip: dict | None = None,
                   scale: float = 1.0) -> Path:
        """PNG of the viewport, or of ``clip`` = {x, y, width, height} in page pixels."""
        params: dict[str, Any] = {"format": "png", "captureBeyondViewport": clip is not None}
        if clip is not None:
            params["clip"] = {**{k: float(clip[k]) for k in ("x", "y", "width", "height")},
                              "scale": scale}
        data = self.send("Page.captureScreenshot", params)["data"]
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def print_pdf(self, path: str | os.PathLike, *, outline: bool = True) -> Path:
        """Print to PDF as the page's ``@page`` rule asks (A4 portrait by default), with
        backgrounds (the banners) and, where the browser can, a bookmark per heading."""
        params = {"paperWidth": A4_WIDTH_MM / 25.4, "paperHeight": A4_HEIGHT_MM / 25.4,
                  "marginTop": TOP_MARGIN_MM / 25.4, "marginBottom": TOP_MARGIN_MM / 25.4,
                  "marginLeft": SIDE_MARGIN_MM / 25.4, "marginRight": SIDE_MARGIN_MM / 25.4,
                  "preferCSSPageSize": True, "printBackground": True,
                  "displayHeaderFooter": False, "generateDocumentOutline": outline,
                  "generateTaggedPDF": outline}
        try:
            data = self.send("Page.printToPDF", params)["data"]
        except ChapterError:
            if not outline:
                raise
            return self.print_pdf(path, outline=False)  # an older browser: no outline
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))
        return path

    def close(self) -> None:
        self.browser.send("Target.closeTarget", {"targetId": self.target})
