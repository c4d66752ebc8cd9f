"""i2vlib: the companion library of the i2v book.

Facial image-to-video translation after Fan et al. (AAAI 2019), AffineGAN (Shen et al.,
ACM MM 2019) and FRGAN (Zhao et al., ECCV 2018): models, losses, data, metrics, rendering.
"""

__version__ = "0.1.0"

from .errors import I2VError  # noqa: E402

# The seven expressions of the embedded benchmark, as in AffineGAN (CK-Mixed + Cheeks&Eyes).
EXPRESSIONS = (
    "happy",
    "anger",
    "surprise",
    "contempt",
    "close-eyes",
    "raise-eyes",
    "drum-cheeks",
)



def load(path, device: str = "cpu"):
    """A trained model from a run directory or checkpoint, behind the one generation API
    (``model.generate(image, intensities, expression=...)``); see :mod:`i2vlib.api`."""
    from .api import load as _load

    return _load(path, device)


__all__ = ["__version__", "EXPRESSIONS", "I2VError", "load"]
