"""Sphinx configuration of the `sna` documentation.

Build with ``make docs`` (or ``python -m sphinx -W --keep-going -b html docs docs/_build/html``).
The build is offline: no intersphinx inventories are fetched and no notebook is executed.
Warnings are errors (``-W``), and cross-references to sna's own objects are checked
(``nitpicky``), so a renamed function or a misspelt config key breaks the build.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(DOCS / "_ext"))
sys.path.insert(0, str(ROOT))

import sna  # noqa: E402

# -- project ----------------------------------------------------------------------------------
project = "sna"
author = "The sna developers"
copyright = "The sna developers (MIT licence); bundled data Crown copyright, OGL v3.0"
release = sna.__version__
version = ".".join(release.split(".")[:2])

# -- extensions -------------------------------------------------------------------------------
extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    # sna's own, in docs/_ext: generated pages that cannot drift from the code
    "sna_api",  # API reference pages, one per public module
    "sna_config_ref",  # configuration reference from the pydantic models of sna.config
    "sna_errors",  # every SnaError subclass and every message raised in sna/
    "sna_tables",  # canonical-table column lists from sna.schemas
    "sna_screenshots",  # chapter screenshots, included only when the PNG exists
    "sna_methods",  # methods from docstring Notes, the CLI reference, partner-data fields
    "sna_chapters",  # the chapters page, read from the chapter notebooks
    "sna_layers",  # the layers of the package, from the layer test and the code's imports
]

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "Thumbs.db", ".DS_Store", "**.ipynb_checkpoints"]
templates_path = []

myst_enable_extensions = ["colon_fence", "deflist", "dollarmath", "fieldlist"]
myst_heading_anchors = 3

# -- offline -----------------------------------------------------------------------------------
# No intersphinx: the build must work without network access. References to third-party
# types (pandas, geopandas, numpy, pydantic, ...) therefore cannot resolve and are ignored
# below; references to sna's own objects are checked.
intersphinx_mapping: dict = {}

# -- cross-references --------------------------------------------------------------------------
nitpicky = True
nitpick_ignore_regex = [
    # Third-party types in signatures and docstrings (no intersphinx: see above).
    (r"py:.*", r"(pd|pandas|gpd|geopandas|np|numpy|scipy|statsmodels|esda|libpysal|shapely|"
               r"pyproj|matplotlib|mpl|plt|pydantic|pandera|pa|papermill|nbformat|yaml|dask|"
               r"distributed|duckdb|pyarrow|openpyxl|mapclassify|folium)(\..*)?"),
    # Standard-library types: Sphinx resolves builtins itself, but not these modules
    # without the Python inventory.
    (r"py:.*", r"(pathlib|os|datetime|collections|collections\.abc|typing|logging|json|"
               r"dataclasses|enum|argparse|io|types|concurrent\.futures)\..*"),
    (r"py:.*", r"(Path|PathLike|Iterable|Iterator|Sequence|Mapping|Callable|Any|Literal|"
               r"Self|TypeAlias|Hashable|Figure|Axes|DataFrame|Series|GeoDataFrame|"
               r"GeoSeries|Index|Timestamp|Period|PeriodIndex|ndarray|ArrayLike|"
               r"BaseModel|Logger|Namespace|ArgumentParser)"),
    # Names in public signatures or docstrings that have no documentation page (each
    # reported to the module's owner): module-level type aliases (sna.config.DisclosureRule,
    # sna.maps.classified.Scheme, the Progress callback type of sna.assessment / sna.engine /
    # sna.io.police_uk), a class of the private module sna.io._files, and a function that
    # is not in its module's __all__.
    (r"py:class", r"(DisclosureRule|Scheme|Progress)"),
    (r"py:class", r"sna\.io\._files\.InputFile"),
    # the picklable context of a data.police.uk file task (sna.io.police_uk._clean), which
    # police_uk_file_tasks returns and clean_police_uk_file takes back unchanged
    (r"py:class", r"_Context"),
    (r"py:func", r"sna\.io\.police_uk\.read_file"),
    # numpydoc's "type" phrases such as "str, optional", "default 3" or "array-like".
    (r"py:class", r"(optional|default.*|array[_-]like|scalar|callable|file-like|"
                  r"path-like|mapping|sequence|iterable|int or str|str or int)"),
]

# -- autodoc / numpydoc ------------------------------------------------------------------------
autodoc_default_options = {"members": True, "undoc-members": True, "member-order": "bysource"}
autodoc_typehints = "signature"
autodoc_typehints_format = "short"
autodoc_preserve_defaults = False  # True breaks some signatures ("pop from empty list")
autodoc_class_signature = "separated"
autodoc_mock_imports: list[str] = []
# Docstrings that do not render yet, by object: shown as their first line plus a note,
# instead of failing the build. Each is reported to the module's owner; remove the entry
# when the docstring is fixed.
sna_docstring_quarantine: dict[str, str] = {
}
autosummary_generate = False  # sna_api writes the API pages itself
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
numpydoc_attributes_as_param_list = False

# -- HTML --------------------------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"sna {release}"
html_static_path = ["_static"]
html_css_files = ["sna.css"]
html_show_sourcelink = False
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "header_links_before_dropdown": 8,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
    "secondary_sidebar_items": ["page-toc"],
}
html_context = {"default_mode": "light"}
# The user guide pages are flat (no sub-pages): no empty left sidebar; the API pages keep it.
html_sidebars = {page: [] for page in (
    "index", "getting-started", "command-line", "configuration", "input-formats", "chapters",
    "troubleshooting", "methods", "architecture", "changelog")}
