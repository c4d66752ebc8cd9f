"""The library's version: in every checkpoint, sidecar and environment line (and pyproject's)."""

__version__ = "0.1.0"
