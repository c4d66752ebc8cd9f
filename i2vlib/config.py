"""Run profiles, the one source of every budget, and the shared part of every method's config.

``smoke``  seconds on a CPU: what the test-suite executes.
``book``   CPU-feasible and meaningful on the synthetic benchmark at 64 px (``make book``).
``paper``  the papers' own settings, meant for a GPU (Colab, or several GPUs with ``torchrun``).

A profile has two budgets: ``chapter`` (what the Data and Evaluation chapters show and measure)
and ``train`` (what a method trains on and for how long). A method's config is
:data:`TRAINING` + the profile's ``train`` budget + the method's own options; the method lists
only where its budget differs (e.g. Fan et al. trains 1500 steps in the book profile).

In the paper profile every method states its paper's settings in its ``profile_changes["paper"]``
and lists, in its module's ``UNSTATED``, the options its paper leaves open with the value we chose
and why; :func:`i2vlib.models.paper_settings` puts both in one table.
"""

from __future__ import annotations

import copy
import hashlib
import json
import math
import platform
from pathlib import Path

import torch

from .clip_record import EXPRESSIONS
from .errors import I2VError, check_names
from .nn import unet_levels
from .version import __version__

PROFILES = {
    "smoke": {"image_size": 64, "device": "cpu",
              "chapter": {"eval_videos": 2, "clip_frames": 8, "identities": 40},
              "train": {"steps": 6, "batch": 4, "ngf": 8, "ndf": 8, "videos": 4, "frames": [6, 8],
                        "checkpoint_every": 3, "lr": 2e-4}},
    # Narrow networks, small batches and 5x the papers' learning rate (2e-4, which the paper profile
    # keeps) so that a model trains in minutes on two CPU cores.
    "book": {"image_size": 64, "device": "auto",
             "chapter": {"eval_videos": 24, "clip_frames": 16, "identities": 3000},
             "train": {"steps": 2000, "batch": 4, "ngf": 16, "ndf": 16, "videos": 200, "frames": [8, 16],
                       "checkpoint_every": 500, "lr": 1e-3}},
    # The base of each method's paper settings (its profile_changes["paper"] and UNSTATED say the rest):
    # 256 px, the size of the 8-level U-Nets of Fan et al. and AffineGAN; widths 64 (pix2pix, which both
    # follow; neither states them); 200 training videos per expression, the scale of their data sets
    # (CK++ has 214, 167 and 177 clips of its three expressions, 21 frames long on average).
    "paper": {"image_size": 256, "device": "auto",
              "chapter": {"eval_videos": 200, "clip_frames": 24, "identities": 3000},
              "train": {"steps": 60000, "batch": 16, "ngf": 64, "ndf": 64, "videos": 200, "frames": [8, 32],
                        "checkpoint_every": 2000, "lr": 2e-4}},
}

# Options every method shares, with their defaults. ``jitter``: head motion of the synthetic training
# videos; 0 gives registered faces (moving heads, which no generator can predict from I0, taught our
# book-profile models blur and then coloured speckle). ``augment``: the clip-consistent random
# crop and flip (:class:`i2vlib.data.clips.ClipTransform`). ``critic_steps``: critic updates per
# generator update. ``d_layers``: 3 (the papers' "three-layer" discriminators) or 5 (pix2pix's
# 70x70 PatchGAN, AffineGAN's public code; :class:`i2vlib.nn.PatchDiscriminator`).
# What the field uses against GAN artefacts (none is any paper's; each off by default):
# ``ema``: the decay of an exponential moving average of the generator's weights, which is then the
# generator that is evaluated and shipped (Karras et al. 2018); ``lr_d``: the critics' own learning rate
# (two time-scale updates, Heusel et al. 2017); ``spectral_norm``: spectral normalisation of the patch
# discriminators' convolutions (Miyato et al. 2018).
TRAINING = {"data": "synthetic", "seed": 0, "expressions": ["happy"], "train_curves": ["linear"],
            "jitter": 0.0, "augment": False, "norm": "instance", "betas": [0.5, 0.999], "decay_from": 0.5,
            "critic_steps": 1, "d_layers": 3, "ema": None, "lr_d": None, "spectral_norm": False}
CHOICES = {"norm": ("instance", "batch", "none"), "d_layers": (3, 5), "spectral_norm": (False, True)}
POSITIVE = ("steps", "batch", "ngf", "ndf", "videos", "critic_steps")

# Options added after runs were cached, with the value that reproduces the older behaviour: at that
# value config_hash leaves them out, so that cached runs and zoo files keep their hashes.
HASH_NEUTRAL = {"pairs_per_video": None, "load_size": None, "ema": None, "lr_d": None, "spectral_norm": False,
                "classify": 0.0, "benchmark": "faces", "action": None, "upsample": "transposed", "design": "book",
                "r1_penalty": 0.0, "noise": 0.0,
                "delta_width": 1, "local_region": "mouth", "perceptual_net": "instrument", "au_source": "exact"}

# The type and range of every numeric option: key -> (int or float, lowest, highest, lowest excluded). Options not
# listed take the type of their default (a flag, a word, a list of names); ``frames``, ``betas`` and ``weights``
# have their own checks (:func:`check_values`). The upper bounds are what this book's machines can hold.
RANGES = {"steps": (int, 1, 10_000_000, False), "batch": (int, 1, 4096, False), "ngf": (int, 1, 512, False),
          "ndf": (int, 1, 512, False), "videos": (int, 1, 100_000, False), "critic_steps": (int, 1, 100, False),
          "checkpoint_every": (int, 1, 10_000_000, False), "seed": (int, 0, 2**32 - 1, False),
          "image_size": (int, 32, 1024, False), "load_size": (int, 32, 2048, False),
          "pairs_per_video": (int, 1, 4096, False), "clip_length": (int, 2, 256, False), "length": (int, 2, 256, False),
          "lr": (float, 0.0, 1.0, True), "lr_d": (float, 0.0, 1.0, True), "ema": (float, 0.0, 0.9999, True),
          "jitter": (float, 0.0, 10.0, False), "decay_from": (float, 0.0, 1.0, False), "eps": (float, 0.0, 1.0, True),
          "delta_a": (float, 0.0, 1.0, True), "classify": (float, 0.0, 1e6, False),
          "r1_penalty": (float, 0.0, 1e6, False), "noise": (float, 0.0, 10.0, False)}
MAX_FRAMES = 1000   # frames of a training video

# Config keys renamed since checkpoints were first written: old name -> new name.
RENAMED = {"train_profiles": "train_curves"}

BUILTIN_DATA = ("synthetic",)


def profile(name: str, **overrides) -> dict:
    """The chapter budget of profile ``name`` (``profile``, ``image_size``, ``device``, ``eval_videos``,
    ``clip_frames``, ``identities``); ``None`` overrides are ignored (notebook defaults)."""
    prof = _profile(name)
    cfg = {"profile": name, "image_size": prof["image_size"], "device": prof["device"], **prof["chapter"]}
    cfg.update({k: v for k, v in overrides.items() if v is not None})
    return cfg


def _profile(name: str) -> dict:
    if name not in PROFILES:
        raise I2VError(f"unknown profile {name!r}; choose one of {', '.join(PROFILES)}")
    return PROFILES[name]


def training_config(method: str, profile_name: str, options: dict, changes: dict, overrides: dict) -> dict:
    """A method's full config: :data:`TRAINING`, the profile's ``train`` budget, the method's
    ``options``, the method's ``changes[profile]`` (which may set options too), then ``overrides``
    (``None`` values skipped; an unknown key is an error; ``weights`` is merged into the defaults)."""
    prof = _profile(profile_name)
    cfg = {"method": method, "profile": profile_name, "image_size": prof["image_size"],
           **copy.deepcopy(TRAINING), **copy.deepcopy(prof["train"]), **copy.deepcopy(options),
           **copy.deepcopy(changes.get(profile_name, {}))}
    defaults = copy.deepcopy(cfg)
    for key, value in overrides.items():
        key = RENAMED.get(key, key)
        if value is None:
            continue
        if key not in cfg:
            raise I2VError(f"unknown {method} option {key!r}; known: {', '.join(sorted(cfg))}")
        if key == "weights":
            if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
                raise I2VError(f"{method} option weights must be a dict of loss weights, got {value!r}")
            unknown = set(value) - set(cfg["weights"])
            if unknown:
                raise I2VError(f"unknown {method} loss weight(s) {sorted(unknown)}; known: {', '.join(cfg['weights'])}")
            value = {**cfg["weights"], **value}
        cfg[key] = value
    return check_values(cfg, defaults)


def check_values(cfg: dict, defaults: dict) -> dict:
    """Every option's type and range (:data:`RANGES`; an option not listed must have its default's type), checked
    before anything is built or written: a value out of range names the key, the value and the range. The same
    check serves ``--set``, ``default_config(...)`` in Python and the config of a checkpoint read back.

    An integer option stores an integer: a whole float (``d_layers=5.0``, JSON's ``5.0``) becomes the int, so that
    the run's config and hash are those of ``d_layers=5``; any other float is refused (options whose default is an
    int and that :data:`RANGES` does not list are left to their method's own check, whole floats made ints)."""
    method = cfg["method"]

    def number(key, value, kind, lo, hi, open_lo=False):
        if kind is int and isinstance(value, float) and value.is_integer():
            value = int(value)
        whole = isinstance(value, int)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or (kind is int and not whole):
            what = "an integer" if kind is int else "a number"
            raise I2VError(f"{method} option {key} must be {what}, got {value!r}")
        if not math.isfinite(value) or value < lo or value > hi or (open_lo and value == lo):
            raise I2VError(f"{method} option {key}={value!r} is out of range: {'(' if open_lo else '['}{lo}, {hi}]")
        return value

    for key, value in cfg.items():
        default = defaults.get(key)
        if key in RANGES:
            if value is not None or default is not None:
                cfg[key] = number(key, value, *RANGES[key])
        elif key == "frames":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise I2VError(f"{method} option frames must be [shortest, longest] video length, got {value!r}")
            value = cfg[key] = [number("frames", v, int, 2, MAX_FRAMES) for v in value]
            if value[0] > value[1]:
                raise I2VError(f"{method} option frames={list(value)}: the shortest length comes first")
        elif key == "betas":
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise I2VError(f"{method} option betas must be Adam's [beta1, beta2], got {value!r}")
            for v in value:
                number("betas", v, float, 0.0, 0.9999)
        elif key == "weights":
            for name, w in value.items():
                number(f"weights.{name}", w, float, 0.0, 1e6)
        elif isinstance(default, bool) and not isinstance(value, bool):
            raise I2VError(f"{method} option {key} must be true or false, got {value!r}")
        elif isinstance(default, int) and isinstance(value, float) and value.is_integer():
            cfg[key] = int(value)
        elif isinstance(default, str) and not isinstance(value, str):
            raise I2VError(f"{method} option {key} must be a word, got {value!r}")
        elif isinstance(default, list) and not isinstance(value, (list, tuple, str)):
            raise I2VError(f"{method} option {key} must be a list, got {value!r}")
    return cfg


def check_training(cfg: dict, choices: dict) -> dict:
    """The checks every method shares (plus its own ``choices``); returns ``cfg`` normalised."""
    method = cfg["method"]
    for key, allowed in {**CHOICES, **choices}.items():
        if cfg[key] not in allowed:
            raise I2VError(f"{method} option {key}={cfg[key]!r}; choose one of {', '.join(map(str, allowed))}")
    unet_levels(int(cfg["image_size"]))
    names = cfg["expressions"]
    cfg["expressions"] = list(check_names([names] if isinstance(names, str) else names, EXPRESSIONS, "expression"))
    if len(set(cfg["expressions"])) < len(cfg["expressions"]):
        raise I2VError(f"{method} expressions must be distinct names from {', '.join(EXPRESSIONS)}; "
                       f"got {cfg['expressions']}")
    for key in POSITIVE:
        if int(cfg[key]) < 1:
            raise I2VError(f"{method} option {key} must be a positive integer, got {cfg[key]!r}")
    if float(cfg["jitter"]) < 0:
        raise I2VError(f"{method} option jitter must be >= 0, got {cfg['jitter']!r}")
    if any(float(w) < 0 for w in cfg["weights"].values()):
        raise I2VError(f"{method} loss weights must be >= 0, got {cfg['weights']}")
    per_video = cfg.get("pairs_per_video")
    if per_video is not None and (not _whole(per_video) or per_video < 1 or int(cfg["batch"]) % per_video):
        raise I2VError(f"{method} option pairs_per_video={per_video!r} must be a positive integer that divides "
                       f"batch={cfg['batch']} (a batch is whole videos of pairs_per_video pairs)")
    load = cfg.get("load_size")
    if load is not None and (not _whole(load) or load < int(cfg["image_size"])):
        raise I2VError(f"{method} option load_size={load!r} must be an integer of at least image_size="
                       f"{cfg['image_size']} (frames are rendered at load_size, then randomly cropped)")
    return cfg


def _whole(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def config_hash(config: dict) -> str:
    """A short, stable hash of a configuration (the key of cached runs); options of
    :data:`HASH_NEUTRAL` at their neutral value are left out, in the configs of earlier stages too."""
    blob = json.dumps(_hashed(config), sort_keys=True, separators=(",", ":"))
    return hashlib.sha1(blob.encode()).hexdigest()[:12]


def _hashed(config: dict) -> dict:
    return {k: _hashed(v) if isinstance(v, dict) and "method" in v else v for k, v in config.items()
            if not (k in HASH_NEUTRAL and v == HASH_NEUTRAL[k])}


def check_data(name: str) -> str:
    """Accept ``synthetic`` (the built-in benchmark) or an existing folder; anything else is a clear error.

    A folder that is itself called ``synthetic`` is given as ``./synthetic``; plain ``synthetic``
    beside such a folder is refused as ambiguous rather than silently read as the benchmark.
    """
    if name in BUILTIN_DATA:
        if Path(name).is_dir():
            raise I2VError(f"data {name!r} is ambiguous here: it names the built-in benchmark and the folder "
                           f"./{name}; give ./{name} for the folder, or run elsewhere for the benchmark")
        return name
    if Path(name).is_dir():
        return name
    raise I2VError(f"unknown data {name!r}: use one of {', '.join(BUILTIN_DATA)} or an existing folder")


def available_devices() -> list[str]:
    """The devices this machine can train and render on: cpu, then every cuda device, then mps."""
    found = ["cpu"]
    if torch.cuda.is_available():
        found += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        found.append("mps")
    return found


def resolve_device(device: str = "auto") -> str:
    """``auto`` picks cuda, then mps, then cpu; any other name must be a device this machine has
    (``cpu`` or ``cpu:0``, ``cuda``, ``cuda:N``, ``mps``), else one line names the ones it has."""
    have = available_devices()
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "mps" if "mps" in have else "cpu"
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError):
        dev = None
    name = None if dev is None else "cuda" if dev.type == "cuda" and dev.index is None else str(dev)
    if dev is not None and dev.type == "cpu" and dev.index in (None, 0):   # cpu:0 is the CPU
        name = "cpu"
    if name is None or (name not in have and not (name == "cuda" and torch.cuda.is_available())):
        raise I2VError(f"device {device!r} is not available here; choose auto or one of {', '.join(have)}")
    return name


def environment() -> str:
    """One line naming the library, torch and device versions (every chapter prints it)."""
    return (f"i2vlib {__version__} | torch {torch.__version__} | python {platform.python_version()}"
            f" | device {resolve_device()}")
