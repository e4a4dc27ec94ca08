"""The yearly batch: run every chapter notebook with papermill and assemble the report.

``sna run`` (and :func:`run`) does, in order:

1. **prepare** the :class:`~sna.assessment.Assessment` once (ingest, clean, cache as Parquet;
   a second run with unchanged inputs reuses the cache);
2. **check** the parameters against every chapter notebook (:func:`check_notebook`, with
   ``papermill.inspect_notebook``): a notebook without a ``parameters`` cell, or one that does
   not declare a parameter the run passes, stops the run before anything executes (exit 2);
3. **execute** the chapters with papermill in parallel (``jobs`` worker processes, each with
   one warm kernel started while step 1 runs and reset between chapters, see
   ``sna.report._kernels``; ``fresh_kernels=True`` starts one per chapter), with a progress line
   per chapter on stderr. A kernel that dies while starting is started again. A failing chapter
   does not stop the others: its executed notebook is kept (it *is* the log), and the run
   ends with a summary (chapter, cell, error) and exit code 1;
4. **assemble** the output folder ``outputs/<area>/<FY as 2020-21>/``::

       report.html          all chapters, a contents list, no code; synthetic banner for the demo
       chapters/            executed notebooks, their HTML (nbconvert, no input), sidecars (.json)
       figures/*.png        every figure, numbered as in the report
       tables/*.csv         every table (rounded as the report shows it)
       tables.xlsx          every table, a sheet each, to the spreadsheet standard
       maps/*.gpkg          map layers for QGIS
       quarantine/          rows set aside (restricted build; a summary only in a public one)
       manifest.json        inputs and hashes, parameters, versions, timings, chapter status
       data/                the cleaned Parquet cache (restricted build only)
       report.pdf           with --pdf, printed by headless Chromium

Exit codes (the command-line contract): 0 every chapter ran; 1 the run finished but a
chapter failed (or the PDF could not be made); 2 bad input or config, including a chapter
notebook that cannot take the run's parameters (nothing was executed).

The package, one step per module: :mod:`~sna.report.notebooks` (which chapters, their
parameters), :mod:`~sna.report.execute` (worker processes and kernels),
:mod:`~sna.report.assemble` (``report.html``), :mod:`~sna.report.xlsx` (``tables.xlsx`` to the
government's spreadsheet standard), and :mod:`sna.office`
(``report.docx``, ``board_paper.docx``), :mod:`~sna.report.pdf`,
:mod:`~sna.report.manifest`, :mod:`~sna.report.results` (what they pass on), and
:mod:`~sna.report.batch` (:func:`run`, which strings them
together). ``sna run`` is :func:`sna.cli.main`'s front to :func:`run`.

Examples
--------
>>> from sna.report import CHAPTERS, resolve_chapters
>>> CHAPTERS[:2]
('00_data_quality', '01_key_findings')
>>> [p.stem for p in resolve_chapters("4,geography,09")]
['04_geography', '09_appendix']
"""

from __future__ import annotations

from .assemble import assemble_report, export_chapter_html
from .batch import run
from .manifest import input_files
from .notebooks import (
    CHAPTERS,
    PARAMETERS,
    NotebookParameterError,
    check_notebook,
    copy_notebooks,
    notebooks_dir,
    resolve_chapters,
)
from .pdf import find_chromium, print_pdf
from .results import ChapterResult, RunResult
from .xlsx import write_tables_xlsx

__all__ = [
    "CHAPTERS",
    "PARAMETERS",
    "ChapterResult",
    "RunResult",
    "NotebookParameterError",
    "notebooks_dir",
    "copy_notebooks",
    "resolve_chapters",
    "check_notebook",
    "run",
    "assemble_report",
    "export_chapter_html",
    "input_files",
    "write_tables_xlsx",
    "print_pdf",
    "find_chromium",
]
