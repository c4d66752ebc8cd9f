"""The repository's scripts (``book/build.py``, ``benchmarks/*.py``), loaded as modules so that tests can call
their functions: they are run as files, not imported from a package."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: str, name: str | None = None):
    """The script at ``path`` (relative to the repository's root), executed as a module named ``name`` (by default
    its file's stem)."""
    spec = importlib.util.spec_from_file_location(name or Path(path).stem, ROOT / path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
