"""The methods. Each module has ``NAME``, ``default_config(profile, **overrides)``, a ``Trainer``
(a :class:`~i2vlib.models.gan.GANTrainer`: networks, batches, loss terms) for :mod:`i2vlib.train`,
and a ``Model`` for the one generation API (:mod:`i2vlib.api`)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping

from ..errors import I2VError

METHODS = {"affinegan": "i2vlib.models.affinegan", "fan": "i2vlib.models.fan", "convlstm": "i2vlib.models.convlstm",
           "frgan": "i2vlib.models.frgan", "frgan-pose": "i2vlib.models.frgan_pose", "vgan": "i2vlib.models.vgan",
           "mocogan": "i2vlib.models.mocogan", "mcnet": "i2vlib.models.mcnet", "ganimation": "i2vlib.models.ganimation",
           "fgst": "i2vlib.models.fgst", "hp": "i2vlib.models.hp", "mathieu": "i2vlib.models.mathieu"}


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
    if not isinstance(config, Mapping):
        raise I2VError(f"a config is a dict of options (get_method(NAME).default_config(PROFILE)), got "
                       f"{type(config).__name__} {config!r:.40}")
    method = get_method(config.get("method", "?"))
    rest = {k: v for k, v in config.items() if k not in ("method", "profile")}
    try:
        return method.default_config(config.get("profile", "book"), **rest)
    except I2VError as e:
        if where is None:
            raise
        raise I2VError(f"{where} was written by another version of i2vlib and its config no longer fits ({e}); "
                       f"retrain it with `i2v train {config.get('method')} ...`") from None


def budget(method: str, profile: str, share: int = 1, steps: int | None = None, **options) -> dict:
    """``method``'s config in ``profile`` with ``options`` (``None`` ignored), trained for 1/``share`` of the
    steps that config has, or for ``steps``: a chapter that trains several methods in its build-time budget
    gives each the same fraction of its own schedule."""
    module = get_method(method)
    full = module.default_config(profile, **options)
    return module.default_config(profile, **{**options, "steps": steps or max(1, full["steps"] // share)})


def paper_settings(method: str, **overrides) -> list[dict]:
    """The paper profile of ``method`` as rows ``{option, value, source}``: ``source`` is where its
    paper states the value, or ``"unstated: ..."`` with where our value comes from (the table a
    chapter shows). Options are those the method's ``STATED`` and ``UNSTATED`` name."""
    module = get_method(method)
    cfg = module.default_config("paper", **overrides)
    notes = {**module.STATED, **{k: f"unstated: {v}" for k, v in module.UNSTATED.items()}}
    return [{"option": k, "value": _lookup(cfg, k), "source": note} for k, note in notes.items()]


def _lookup(cfg: dict, key: str):
    """``key`` of ``cfg``; ``a.b`` reads a nested dict (``weights.gp``)."""
    for part in key.split("."):
        cfg = cfg[part]
    return cfg
