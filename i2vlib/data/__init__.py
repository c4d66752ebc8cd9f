"""Data: the embedded synthetic benchmark, on-disk layouts and clip samplers."""

from .types import Clip

__all__ = ["Clip"]
