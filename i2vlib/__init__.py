"""i2vlib: the companion library of the i2v book.

Facial image-to-video translation after Fan et al. (AAAI 2019), AffineGAN (Shen et al.,
ACM MM 2019) and FRGAN (Zhao et al., ECCV 2018): models, losses, data, metrics, rendering.
The layers of the library and the direction of its imports: the book's map of the library
(``book/reference/map.md``). No module of the library imports this package itself.

A chapter needs one line, ``import i2vlib as i2v``: the package's modules are its attributes
(``i2v.runs.cached_runs``, ``i2v.render.frame_grid``, ``i2v.models.fan``), imported on first use.
"""

import importlib

from .clip_record import EXPRESSIONS
from .errors import I2VError
from .version import __version__


def load(path, device: str = "cpu"):
    """A trained model from a run directory, a checkpoint or ``"zoo:NAME"``, behind the one generation
    API (``model.generate(image, intensities, expression=...)``): :func:`i2vlib.runs.load`."""
    from .runs import load as _load  # `import i2vlib` stays light: torch is imported on first use

    return _load(path, device)


# The modules a chapter reaches as ``i2v.NAME`` (subpackages and top-level modules).
MODULES = ("api", "checkpoint", "claims", "config", "data", "evaluate", "faces", "instruments", "io", "losses",
           "metrics", "models", "nn", "records", "render", "runs", "train", "zoo")


def __getattr__(name: str):
    """``i2v.runs``, ``i2v.render``, ...: a module of :data:`MODULES`, imported on first use."""
    if name in MODULES:
        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["__version__", "EXPRESSIONS", "I2VError", "load", *MODULES]
