"""Fixtures shared by several test modules."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory):
    """One `sna run` of every chapter on the bundled demo, shared by the chapter tests
    (tests/test_chapters.py) and the browser test (tests/test_browser.py) so that CI runs
    the batch once."""
    from sna import report

    out = tmp_path_factory.mktemp("demo")
    return report.run(None, output=out, jobs=2, progress=False)
