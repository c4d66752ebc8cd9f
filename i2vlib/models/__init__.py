"""The methods. Each module has ``NAME``, ``default_config(profile, **overrides)``, a ``Trainer``
(a :class:`~i2vlib.models.gan.GANTrainer`: networks, batches, loss terms) for :mod:`i2vlib.train`,
and a ``Model`` for the one generation API (:mod:`i2vlib.api`)."""

from __future__ import annotations

import importlib

from ..errors import I2VError

METHODS = {"affinegan": "i2vlib.models.affinegan", "fan": "i2vlib.models.fan", "convlstm": "i2vlib.models.convlstm",
           "frgan": "i2vlib.models.frgan", "frgan-pose": "i2vlib.models.frgan_pose"}


def get_method(name: str):
    """The module of method ``name``."""
    if not isinstance(name, str) or name not in METHODS:
        raise I2VError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return importlib.import_module(METHODS[name])


def full_config(config: dict, where: str | None = None) -> dict:
    """``config`` completed with its method's defaults for its profile (and checked).

    Configs saved by earlier versions are upgraded: renamed keys take their new names and
    options added since then take their defaults, which reproduce the old behaviour. ``where``
    names a checkpoint whose config no longer fits, for the one-line error.
    """
    method = get_method(config.get("method", "?"))
    rest = {k: v for k, v in config.items() if k not in ("method", "profile")}
    try:
        return method.default_config(config.get("profile", "book"), **rest)
    except I2VError as e:
        if where is None:
            raise
        raise I2VError(f"{where} was written by another version of i2vlib and its config no longer fits ({e}); "
                       f"retrain it with `i2v train {config.get('method')} ...`") from None
