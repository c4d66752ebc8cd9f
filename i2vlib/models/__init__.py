"""The methods. Each module has ``NAME``, ``default_config(profile, **overrides)``, a ``Trainer``
(networks, optimisers, one step) for :mod:`i2vlib.train`, and a ``Generator`` for :mod:`i2vlib.api`."""

from __future__ import annotations

import importlib

from ..errors import I2VError

METHODS = {"affinegan": "i2vlib.models.affinegan", "fan": "i2vlib.models.fan", "convlstm": "i2vlib.models.baselines"}


def get_method(name: str):
    """The module of method ``name``."""
    if name not in METHODS:
        raise I2VError(f"unknown method {name!r}; choose one of {', '.join(METHODS)}")
    return importlib.import_module(METHODS[name])
