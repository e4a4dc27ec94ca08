"""What a run and each of its chapters came to: the results the steps of :mod:`sna.report`
pass on (execute -> assemble -> manifest).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["ChapterResult", "RunResult"]


@dataclass
class ChapterResult:
    """What happened to one chapter."""

    name: str
    notebook: str
    status: str = "pending"  # ok | failed | interrupted
    seconds: float = 0.0
    executed: str | None = None
    html: str | None = None
    error: dict | None = None
    attempts: int = 1  # > 1 when the kernel died while starting and was started again

    @property
    def ok(self) -> bool:
        return self.status == "ok"

    def summary(self) -> str:
        """One line: chapter, cell and error."""
        if self.ok:
            return f"{self.name}: ok ({self.seconds:.1f} s)"
        e = self.error or {}
        where = e.get("where") or "before the first cell"
        return f"{self.name}: FAILED at {where}: {e.get('ename', 'Error')}: {e.get('evalue', '')}"


@dataclass
class RunResult:
    """The outcome of :func:`run`."""

    output_dir: Path
    area: str
    year: str
    build: str
    synthetic: bool
    chapters: list[ChapterResult] = field(default_factory=list)
    report: Path | None = None
    manifest: Path | None = None
    xlsx: Path | None = None
    docx: Path | None = None
    board_paper: Path | None = None
    slides: Path | None = None
    pdf: Path | None = None
    pdf_message: str | None = None
    cache_reused: bool | None = None
    timings: dict[str, float] = field(default_factory=dict)
    interrupted: bool = False  # Ctrl-C during the chapters

    @property
    def failed(self) -> list[ChapterResult]:
        return [c for c in self.chapters if not c.ok]

    @property
    def ok(self) -> bool:
        return not self.failed and self.pdf_message is None

    @property
    def exit_code(self) -> int:
        """0 when every chapter ran (and the PDF, if asked for, was made), 130 when the run
        was interrupted, else 1."""
        if self.interrupted:
            return 130
        return 0 if self.ok else 1
