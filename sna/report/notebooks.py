"""The chapter notebooks: where they are, which to run, and whether they take the run's
parameters (checked with ``papermill.inspect_notebook`` before anything executes).
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path

from ..chapter import CHAPTER_TITLES
from ..errors import ChapterError

__all__ = [
    "CHAPTERS",
    "PARAMETERS",
    "NotebookParameterError",
    "notebooks_dir",
    "copy_notebooks",
    "resolve_chapters",
    "check_notebook",
]


#: The standard chapters, in report order.
CHAPTERS: tuple[str, ...] = tuple(CHAPTER_TITLES)

#: The parameters ``sna run`` passes to every chapter notebook.
PARAMETERS: tuple[str, ...] = ("config_path", "year", "build", "output_dir", "cache_dir")

class NotebookParameterError(ChapterError):
    """A chapter notebook cannot take the run's parameters (no ``parameters`` cell, or an
    undeclared parameter). Raised before anything executes: exit code 2."""

    exit_code = 2

# ---- notebooks ----------------------------------------------------------------------------
def notebooks_dir() -> Path:
    """The chapter notebooks shipped inside the package: the one copy, run by ``sna run``.

    Editable copies are made with :func:`copy_notebooks` (``sna notebooks DIR``).
    """
    return Path(__file__).resolve().parents[1] / "notebooks"

def copy_notebooks(dest: str | os.PathLike, *, overwrite: bool = False) -> list[Path]:
    """Copy the chapter notebooks (and the ``explore`` tutorial) into a folder to edit.

    Parameters
    ----------
    dest
        The folder (created if needed).
    overwrite
        Replace notebooks already there (default: keep them).

    Returns
    -------
    list of pathlib.Path
        The notebooks written.

    Notes
    -----
    ``sna notebooks DIR`` on the command line. Edited chapters run with
    ``sna run --chapters path/to/04_geography.ipynb``. In a clone of the repository,
    ``sna notebooks notebooks`` fills the top-level ``notebooks/`` folder, which git ignores:
    the notebooks in the package are the one source.

    Examples
    --------
    >>> import tempfile
    >>> [p.name for p in copy_notebooks(tempfile.mkdtemp())][-2:]
    ['09_appendix.ipynb', 'explore.ipynb']
    """
    dest = Path(dest)
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    for nb in sorted(notebooks_dir().glob("*.ipynb")):
        target = dest / nb.name
        if target.exists() and not overwrite:
            continue
        shutil.copyfile(nb, target)
        written.append(target)
    return written

def resolve_chapters(spec: str | Sequence[str] | None = None) -> list[Path]:
    """Chapter notebooks from names, numbers, short names or paths.

    Parameters
    ----------
    spec
        ``None`` for all standard chapters; else a comma-separated string or a list of items,
        each a number (``4``, ``"04"``), a name (``"04_geography"``, ``"geography"``) or the
        path of a ``.ipynb`` file (your own chapter).

    Returns
    -------
    list of pathlib.Path
        In report order (standard chapters), then custom notebooks in the order given.

    Raises
    ------
    ChapterError
        naming an unknown chapter and listing the valid ones (exit code 2).
    """
    folder = notebooks_dir()
    if spec is None:
        return [folder / f"{name}.ipynb" for name in CHAPTERS]
    items = spec.split(",") if isinstance(spec, str) else [str(s) for s in spec]
    items = [i.strip() for i in items if i and i.strip()]
    standard: set[str] = set()
    custom: list[Path] = []
    for item in items:
        p = Path(item).expanduser()
        if item.endswith(".ipynb"):
            if not p.exists():
                raise NotebookParameterError(f"chapter notebook not found: {p}", file=p)
            custom.append(p.resolve())
            continue
        match = _match_chapter(item)
        if match is None:
            raise NotebookParameterError(
                f"unknown chapter {item!r}; valid chapters are {', '.join(CHAPTERS)} "
                "(by number, name or short name), or the path of a .ipynb notebook",
                key="chapters",
            )
        standard.add(match)
    out = [folder / f"{name}.ipynb" for name in CHAPTERS if name in standard]
    return out + custom

def _match_chapter(item: str) -> str | None:
    key = item.lower().replace("-", "_")
    for name in CHAPTERS:
        num = name.split("_", 1)[0]
        short = name.split("_", 1)[1]
        if key in (name, short) or (key.isdigit() and int(key) == int(num)):
            return name
    return None

def check_notebook(path: str | os.PathLike, parameters: Iterable[str] = PARAMETERS) -> dict:
    """Check that a notebook can take the run's parameters, as papermill would see them.

    Parameters
    ----------
    path
        The notebook.
    parameters
        The names the run passes.

    Returns
    -------
    dict
        ``papermill.inspect_notebook``'s description of the declared parameters.

    Raises
    ------
    NotebookParameterError
        when the notebook cannot be read, has no cell tagged ``parameters`` (or several), or
        does not declare one of ``parameters`` (papermill would only warn and inject it,
        leaving the chapter to run on its defaults: a silent wrong report).
    """
    import nbformat
    import papermill

    path = Path(path)
    try:
        nb = nbformat.read(path, as_version=4)
    except Exception as exc:  # noqa: BLE001 - any unreadable notebook
        raise NotebookParameterError(f"cannot read the notebook: {exc}", file=path) from None
    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not tagged:
        raise NotebookParameterError(
            f"notebook {path.name} has no cell tagged 'parameters', so sna run cannot pass it "
            f"{', '.join(PARAMETERS)}; add the tag 'parameters' to the cell that sets their "
            "defaults (JupyterLab: Property Inspector > Cell Tags)",
            file=path,
        )
    if len(tagged) > 1:
        raise NotebookParameterError(
            f"notebook {path.name} has {len(tagged)} cells tagged 'parameters' (cells "
            f"{', '.join(str(i + 1) for i in tagged)}); keep the tag on one cell only",
            file=path,
        )
    declared = papermill.inspect_notebook(str(path))
    unknown = [p for p in parameters if p not in declared]
    if unknown:
        raise NotebookParameterError(
            f"notebook {path.name} does not declare the parameter(s) {', '.join(unknown)} that "
            f"sna run passes; add them to its parameters cell (cell {tagged[0] + 1}) with a "
            f"default, e.g. '{unknown[0]} = None' (declared there: "
            f"{', '.join(declared) or 'nothing'})",
            file=path,
        )
    return declared

def notebook_kernel(notebook: Path) -> str:
    """The kernel a notebook asks for (its kernelspec), ``python3`` if it names none."""
    try:
        meta = json.loads(Path(notebook).read_text(encoding="utf-8")).get("metadata", {})
        return (meta.get("kernelspec") or {}).get("name") or "python3"
    except (OSError, ValueError):
        return "python3"
