"""Run profiles and data names shared by the notebooks and the CLI.

``smoke``  seconds on a CPU: what the test-suite executes.
``book``   CPU-feasible and meaningful on the synthetic benchmark at 64 px (``make book``).
``paper``  the papers' own settings, meant for a GPU (Colab).
"""

from __future__ import annotations

from pathlib import Path

from .errors import I2VError

PROFILES = {
    "smoke": {"image_size": 64, "videos": 2, "frames": 8, "identities": 40, "device": "cpu"},
    "book": {"image_size": 64, "videos": 24, "frames": 16, "identities": 3000, "device": "auto"},
    "paper": {"image_size": 128, "videos": 200, "frames": 24, "identities": 3000, "device": "auto"},
}

BUILTIN_DATA = ("synthetic",)


def profile(name: str, **overrides) -> dict:
    """The settings of profile ``name``; ``None`` overrides are ignored (notebook defaults)."""
    if name not in PROFILES:
        raise I2VError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    cfg = dict(PROFILES[name], profile=name)
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def check_data(name: str) -> str:
    """Accept a built-in data name or an existing folder; anything else is a clear error."""
    if name in BUILTIN_DATA or Path(name).is_dir():
        return name
    raise I2VError(f"unknown data {name!r}: use one of {', '.join(BUILTIN_DATA)} or an existing folder")


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu."""
    import torch

    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def environment() -> str:
    """One line naming the library, torch and device versions (every chapter prints it)."""
    import platform

    import torch

    from . import __version__

    return (f"i2vlib {__version__} | torch {torch.__version__} | python {platform.python_version()}"
            f" | device {resolve_device()}")
