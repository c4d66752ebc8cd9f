"""FRGAN (Zhao et al., ECCV 2018): *Learning to Forecast and Refine Residual Motion*.

Three parts (§3): the condition generator G_C makes motion maps M_t (:mod:`i2vlib.instruments.condition`:
the benchmark's 2-D face model stands in for the paper's 3DMM); G_M forecasts each frame from
one input frame; G_R refines whole clips of G_M's frames. Networks: :mod:`.frgan_parts`; the
stages' training videos: :mod:`i2vlib.data.stages`; the trained model: :mod:`.frgan_model`.

Forecasting (Eq. 2-9)::

    Δ = f_D(f_M(M_{t+k}) - f_M(M_t) + f_I(I_t))          Eq. 3 -> mask m, content c
    Ĩ_{t+k} = m * c + (1 - m) * I_t                      Eq. 2
    L_G_M = ||I_{t+k} - Ĩ_{t+k}||_1 + ||m||_1 - D_I([Ĩ_{t+k}, M_{t+k}])          Eq. 4-7
    L_D_I = D_I([Ĩ, M]) - D_I([I, M]) + λ (||∇ D_I([Î, M])||_2 - 1)^2, λ = 10    Eq. 8-9

Refinement (Eq. 10-14), on clips Ṽ of K frames forecast by the frozen G_M::

    V̄ = m * c + (1 - m) * Ṽ                              Eq. 10 (spatio-temporal m, c)
    L_G_R = ||V - V̄||_1 + ||m||_1 - D_V([V̄, 𝓜]) - (1/K) Σ_i D_I([Ī_i, M_i])      Eq. 11-12
    D_V: WGAN-GP on clips (Eq. 13-14); D_I: Eq. 8 on one random frame of each clip (§3.3)

The two stages are one method with ``stage="forecast"`` or ``"refine"``. A refine config nests the
config of its forecast run under ``forecast``; the run store (:mod:`i2vlib.runs`) finds or first
trains that run and hands its G_M to the refine run, frozen, so changing the forecast config retrains both. Identities
are split as in the paper (§4.1, thirds): the benchmark's train identities with i % 10 in 0-3 train
G_M, 4-7 train G_R (its test split, i % 10 = 9, is the third third); ``split="all"`` lets both
stages use every training identity (a folder's people are halved by sorted name).

Options (``*`` = the paper's reading, the default):

``residual``     ``mask``* (Eq. 2), ``difference`` (Eq. 1, I_t + d), ``none`` (the content alone, ≈ [39]).
``decoder``      ``dense``* (§3.2), ``plain``, ``plain-wide`` (plain, widened to the dense one's cost).
``analogy``      ``bottleneck``* (Eq. 3 at the code; skips carry f_I, as the paper says), ``every-level``.
``motion_maps``  ``dense``* (8 face-part channels, our analogue of the normal map), ``heatmaps`` (68).
``source``       ``random``* (random t and k, §3.2), ``first`` (the public code: t = 0, any target).
``split``        ``thirds``* (§4.1), ``all``.
``weights``      rec 1, mask 1, gen 1 (Eq. 4 is an unweighted sum), gp 10 (λ, §3.2), frames 1 (D_I on
                 G_R's frames, Eq. 12); the public code's ``{"rec": 3, "mask": 0.05}`` by override.

The paper does not give layer sizes, n_critic, the loss weights, the number of steps or whether k may
be negative; we use the public code's one critic step, k >= 1, constant learning rates (the public
code has no decay) and small widths (:mod:`.frgan_parts`).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import losses
from ..config import check_training, training_config
from ..data.clips import to_tensor
from ..data.sampling import Sampler
from ..data.stages import STAGES, stage_identities, stage_source
from ..errors import I2VError
from ..instruments.condition import MAP_KINDS, ExpressionTable, map_channels, motion_maps
from . import budget, full_config
from .frgan_model import Model, load_networks  # noqa: F401 (the method's Model, as every method module has one)
from .frgan_parts import (DECODERS, RESIDUALS, ForecastNet, ImageCritic, RefineNet, VideoCritic, check_clip_length,
                          levels)
from .gan import GANTrainer

NAME = "frgan"
TABLE_IDENTITIES = 100          # training identities behind the expression table of G_C
SHARED = ("image_size", "expressions", "motion_maps", "data", "split")     # must agree between the stages
INHERITED = (*SHARED, "seed", "jitter", "train_curves", "augment")         # a default forecast config copies these
# Eq. 4's weights (rec, mask, gen) as printed, the defaults; and the public code's, which the book's
# chapters and ablations train with outside the paper profile (the training chapter measures why).
PAPER_WEIGHTS = {"rec": 1.0, "mask": 1.0, "gen": 1.0}
CODE_WEIGHTS = {"rec": 3.0, "mask": 0.05, "gen": 1.0}
# The FRGAN chapters and the comparison train 1/SHARE of the profile's steps (the book's build time).
SHARE = {"book": 5}

# Budgets per stage and profile (given to the config as overrides; the profile's own budget is the base).
# book: G_M at batch 8 and 5x the paper's learning rate (as the other methods' book runs), G_R on
# 16-frame clips at batch 2 and half the widths. paper: §4.1 (Adam 1e-4, betas (0, 0.9), batch 32,
# 96-px MUG crops, G_R on clips of 32), on videos long enough for a clip of 32 after its input frame.
_PAPER = {"image_size": 96, "batch": 32, "lr": 1e-4, "frames": [33, 64], "clip_length": 32}
BUDGETS = {
    "forecast": {"smoke": {"ngf": 4, "ndf": 4},
                 "book": {"steps": 1500, "batch": 8, "lr": 5e-4},
                 "paper": _PAPER},
    "refine": {"smoke": {"ngf": 4, "ndf": 4, "batch": 2, "clip_length": 4},
               "book": {"steps": 500, "batch": 2, "ngf": 8, "ndf": 8, "lr": 5e-4, "clip_length": 16},
               "paper": _PAPER},
}

# The paper profile: what §3 and §4.1 state (option -> where) ...
STATED = {
    "image_size": "§4.1: MUG faces cropped and scaled to 96 x 96", "batch": "§4.1: 32 for all networks",
    "lr": "§4.1: Adam, learning rate 0.0001", "betas": "§4.1: momentums 0.0 and 0.9",
    "weights.gp": "§3.2: lambda = 10", "clip_length": "§4.1: G_R refines the (MUG) clips every 32 frames",
    "split": "§4.1: subjects split in thirds (G_M, G_R, test)", "source": "§3.2: random t and k every iteration",
}
# ... and what it leaves open ("network details on the project website", which has none).
UNSTATED = {
    "steps": "the profile's 60000 per stage", "ngf": "64: the public code's G_M starts at 64 channels",
    "ndf": "64", "decay_from": "1.0: constant rate, as the public code", "critic_steps": "1, the public code's",
    "weights": "rec, mask and gen 1 (Eq. 4 is an unweighted sum), frames 1",
    "frames": "33 to 64: MUG's lengths are not given; G_R needs 32 frames after the input",
    "videos": "200 per expression (MUG: 86 subjects, six expressions)",
}

FORECAST = {"critics": ("D_I",), "frozen": (), "stages": {}, "monitors": ("rec_copy",),
            "d_losses": {"d_image": ("gen", "Eq. 8"), "gp_image": ("gp", "Eq. 9")},
            "g_losses": {"rec": ("rec", "Eq. 5"), "mask": ("mask", "Eq. 6"), "g_image": ("gen", "Eq. 7")}}
REFINE = {"critics": ("D_V", "D_I"), "frozen": ("G_M",), "stages": {"G_M": "forecast"}, "monitors": ("rec_forecast",),
          "d_losses": {"d_video": ("gen", "Eq. 13"), "gp_video": ("gp", "Eq. 14"),
                       "d_image": ("frames", "Eq. 8, one refined frame per clip (§3.3)"),
                       "gp_image": ("gp", "Eq. 9, one refined frame per clip (§3.3)")},
          "g_losses": {"rec": ("rec", "Eq. 11 (Eq. 5)"), "mask": ("mask", "Eq. 11 (Eq. 6)"),
                       "g_video": ("gen", "Eq. 12, D_V"), "g_image": ("frames", "Eq. 12, D_I on every frame")}}
ADVERSARIAL = {"gp_image": {"forecast": "gen", "refine": "frames"}, "gp_video": {"refine": "gen"}}


# ----------------------------------------------------------------------------------------------
# G_C's table and the trainer: Eq. 4-14 as loss terms; the GAN step lives in models.gan, the loop in i2vlib.train
# ----------------------------------------------------------------------------------------------
def expression_table(cfg: dict, source=None) -> ExpressionTable:
    """G_C's table for a forecast config: exact on the benchmark (the first G_M-third identities),
    else measured on the training clips' landmarks."""
    if cfg["data"] == "synthetic":
        ids = stage_identities(cfg, "forecast")[:TABLE_IDENTITIES]
        return ExpressionTable.from_benchmark(ids, cfg["expressions"], cfg["seed"])
    source = source if source is not None else stage_source(cfg)
    return ExpressionTable.from_clips((source[i] for i in range(min(len(source), 400))), list(cfg["expressions"]))


def _landmarks(clip, idx) -> np.ndarray:
    if clip.landmarks is None:
        raise I2VError(f"clip {clip.video_id} has no landmarks; frgan draws its motion maps from them "
                       "(prepare the folder with i2v prepare)")
    return np.asarray(clip.landmarks, np.float32)[idx]


class Trainer(GANTrainer):
    """G_M (``stage="forecast"``) or G_R (``stage="refine"``) with their critics and loss terms.

    The class attributes describe the forecast stage; a refine-stage trainer sets its own
    (critics D_V and D_I, G_M frozen and loaded from the forecast run)."""

    name, budgets = NAME, BUDGETS
    options = {"stage": "forecast", "forecast": None, "residual": "mask", "decoder": "dense",
               "analogy": "bottleneck", "motion_maps": "dense", "source": "random", "split": "thirds",
               "clip_length": 16, "betas": [0.0, 0.9], "decay_from": 1.0,
               "weights": {"rec": 1.0, "mask": 1.0, "gen": 1.0, "gp": 10.0, "frames": 1.0}}
    choices = {"stage": STAGES, "residual": RESIDUALS, "decoder": DECODERS, "analogy": ("bottleneck", "every-level"),
               "motion_maps": MAP_KINDS, "source": ("random", "first"), "split": ("thirds", "all")}
    critics, frozen, stages, monitors = FORECAST["critics"], (), {}, FORECAST["monitors"]
    d_losses, g_losses = FORECAST["d_losses"], FORECAST["g_losses"]

    # -- config -------------------------------------------------------------------------
    @classmethod
    def default_config(cls, profile: str = "book", **overrides) -> dict:
        """The full config of one stage (``stage="forecast"`` by default) for a profile."""
        given = {k: v for k, v in overrides.items() if v is not None}
        budget = cls.budgets.get(given.get("stage", "forecast"), {}).get(profile, {})
        return cls.check_config(training_config(cls.name, profile, cls.options, {}, {**budget, **given}))

    @classmethod
    def check_config(cls, cfg: dict) -> dict:
        size = cfg["image_size"]
        levels(size)
        # The shared checks ask for a power of two (the other methods' U-Nets reach 1x1); FRGAN's
        # encoders stop at 4-7 px, so 96 px (the paper's MUG crops) works: check the rest only.
        cfg = check_training({**cfg, "image_size": 64}, cls.choices)
        cfg["image_size"] = int(size)
        check_clip_length(cfg["clip_length"])
        if cfg["stage"] == "forecast":
            if cfg["forecast"] is not None:
                raise I2VError("a forecast-stage frgan config nests no forecast config "
                               "(that option is for stage=\"refine\")")
            return cfg
        fc = cfg["forecast"]
        if fc is None:
            fc = {k: cfg[k] for k in INHERITED}
        if not isinstance(fc, dict) or fc.get("method", cls.name) != cls.name or fc.get("stage", "forecast") != "forecast":
            raise I2VError(f"{cls.name} option forecast must be the config of a forecast-stage {cls.name} run, "
                           f"got {fc!r}")
        fc = full_config({"profile": cfg["profile"], **fc, "method": cls.name})
        differ = [k for k in SHARED if fc[k] != cfg[k]]
        if differ:
            raise I2VError(f"frgan's refine stage must share {', '.join(differ)} with its forecast stage "
                           f"({', '.join(f'{k}={fc[k]!r}' for k in differ)} there)")
        cfg["forecast"] = fc
        return cfg

    @classmethod
    def loss_table(cls, stage: str = "forecast") -> list[dict]:
        plan = REFINE if stage == "refine" else FORECAST
        return [{"half": half, "term": term, "weight": key, "equation": eq}
                for half, declared in (("critics", plan["d_losses"]), ("generator", plan["g_losses"]))
                for term, (key, eq) in declared.items()]

    def __init__(self, cfg: dict):
        cfg = self.check_config(dict(cfg))
        stage = cfg["stage"]
        plan = REFINE if stage == "refine" else FORECAST
        w = cfg["weights"]
        self.critics, self.frozen, self.stages, self.monitors = (plan[k] for k in
                                                                 ("critics", "frozen", "stages", "monitors"))
        # a penalty without its critic's adversarial term would train a critic nobody reads
        self.d_losses = {k: v for k, v in plan["d_losses"].items()
                         if k not in ADVERSARIAL or float(w[ADVERSARIAL[k][stage]]) > 0}
        self.g_losses = {k: v for k, v in plan["g_losses"].items() if k != "mask" or cfg["residual"] == "mask"
                         or stage == "refine"}
        super().__init__(cfg)

    # -- networks and data --------------------------------------------------------------
    def build(self) -> dict[str, nn.Module]:
        cfg = self.cfg
        size, c = int(cfg["image_size"]), 3 + map_channels(cfg["motion_maps"])
        if cfg["stage"] == "forecast":
            return {"generator": ForecastNet(cfg), "D_I": ImageCritic(c, cfg["ndf"], size)}
        return {"generator": RefineNet(cfg), "G_M": ForecastNet(cfg["forecast"]),
                "D_V": VideoCritic(c, cfg["ndf"], size, cfg["clip_length"]), "D_I": ImageCritic(c, cfg["ndf"], size)}

    def sampler(self):
        if self._sampler is None:
            self._sampler = Sampler(stage_source(self.cfg), self.cfg["expressions"], self.cfg["augment"])
        return self._sampler

    @classmethod
    def earlier(cls, cfg: dict) -> dict[str, dict]:
        """A refine run's G_M is the generator of its forecast run."""
        return {"G_M": cfg["forecast"]} if cfg["stage"] == "refine" else {}

    def begin(self, frozen: dict[str, dict]) -> None:
        """A new forecast run fills G_C's expression table (it travels in G_M's weights; a pose G_M has
        none); a refine run loads the frozen G_M of its forecast run."""
        if self.cfg["stage"] == "forecast" and hasattr(self.nets["generator"], "displacements"):
            table = expression_table(self.cfg, self.sampler().source)
            self.nets["generator"].displacements.copy_(torch.as_tensor(table.d, dtype=torch.float32))
        super().begin(frozen)

    def _points(self, clip, idx) -> np.ndarray:
        """The points the motion maps are drawn from: a face's 68 landmarks."""
        return _landmarks(clip, idx)

    def _maps(self, landmarks: np.ndarray) -> torch.Tensor:
        return motion_maps(landmarks, int(self.cfg["image_size"]), self.cfg["motion_maps"])

    def sample(self, rng: np.random.Generator) -> dict:
        """Forecast: (I_t, I_{t+k}) with random t and k >= 1 (§3.2; ``source="first"``: t = 0 and any target,
        the public code). Refine: frame t and the K frames after it (a shorter clip is resampled to K + 1
        frames, repeating some). With the motion maps of every frame."""
        sampler, n, k = self.sampler(), int(self.cfg["batch"]), int(self.cfg["clip_length"])
        src, tgt, lm_src, lm_tgt = [], [], [], []
        for _ in range(n):
            clip = sampler.clip(rng)
            length = len(clip.frames)
            if self.cfg["stage"] == "refine":
                if length > k:
                    t = int(rng.integers(0, length - k)) if self.cfg["source"] == "random" else 0
                    idx = np.arange(t, t + k + 1)
                else:
                    idx = np.round(np.linspace(0, length - 1, k + 1)).astype(int)
                first, rest = idx[0], idx[1:]
            elif self.cfg["source"] == "random":
                step = int(rng.integers(1, length))
                first = int(rng.integers(0, length - step))
                rest = first + step
            else:
                first, rest = 0, int(rng.integers(0, length))
            src.append(to_tensor(clip.frames[first]))
            tgt.append(to_tensor(clip.frames[rest]))
            lm_src.append(self._points(clip, first))
            lm_tgt.append(self._points(clip, rest))
        lm_tgt = np.stack(lm_tgt)
        maps = self._maps(lm_tgt.reshape(-1, *lm_tgt.shape[-2:]))
        return {"source": torch.stack(src), "target": torch.stack(tgt), "maps_source": self._maps(np.stack(lm_src)),
                "maps_target": maps.view(*lm_tgt.shape[:-2], *maps.shape[1:])}

    # -- the generator's pass and the loss terms ----------------------------------------------
    def forward(self, b: dict) -> dict:
        if self.cfg["stage"] == "forecast":
            return self.nets["generator"](b["source"], b["maps_source"], b["maps_target"])
        n, k = b["target"].shape[:2]
        with torch.no_grad():                                   # Ṽ: K frames forecast from I_t by the frozen G_M
            g_m = self.nets["G_M"]
            rep = lambda fs: [f.repeat_interleave(k, 0) for f in fs]  # noqa: E731
            feats = g_m.analogy(rep(g_m.f_I(b["source"])), rep(g_m.motion(b["maps_source"])),
                                g_m.motion(b["maps_target"].flatten(0, 1)))
            forecast = g_m.decode(feats, b["source"].repeat_interleave(k, 0))["frame"].clamp(-1, 1)
        forecast = forecast.view(n, k, *forecast.shape[1:]).transpose(1, 2)      # N 3 K S S
        out = self.nets["generator"](forecast, b["maps_target"].transpose(1, 2))
        out["forecast"] = forecast
        out["pick"] = torch.randint(k, (n,), device=forecast.device)             # the frame D_I judges
        return out

    def d_terms(self, b: dict, out: dict) -> dict:
        d_i = self.nets["D_I"]
        if self.cfg["stage"] == "forecast":
            real = torch.cat([b["target"], b["maps_target"]], 1)
            fake = torch.cat([out["frame"].detach(), b["maps_target"]], 1)
            return {"d_image": lambda: losses.wgan_d(d_i(real), d_i(fake)),                    # Eq. 8
                    "gp_image": lambda: losses.gradient_penalty(d_i, real, fake)}              # Eq. 9
        d_v, maps = self.nets["D_V"], b["maps_target"].transpose(1, 2)
        video = out["video"].detach()
        real_v, fake_v = torch.cat([b["target"].transpose(1, 2), maps], 1), torch.cat([video, maps], 1)
        rows = torch.arange(len(video), device=video.device)
        real_i, fake_i = real_v[rows, :, out["pick"]], fake_v[rows, :, out["pick"]]
        return {"d_video": lambda: losses.wgan_d(d_v(real_v), d_v(fake_v)),                    # Eq. 13
                "gp_video": lambda: losses.gradient_penalty(d_v, real_v, fake_v),              # Eq. 14
                "d_image": lambda: losses.wgan_d(d_i(real_i), d_i(fake_i)),
                "gp_image": lambda: losses.gradient_penalty(d_i, real_i, fake_i)}

    def g_terms(self, b: dict, out: dict) -> dict:
        d_i = self.nets["D_I"]
        if self.cfg["stage"] == "forecast":
            frame = out["frame"]
            return {"rec": lambda: losses.l1(frame, b["target"]),                                # Eq. 5
                    "mask": lambda: out["mask"].mean(),                                          # Eq. 6 (m >= 0)
                    "g_image": lambda: losses.wgan_g(d_i(torch.cat([frame, b["maps_target"]], 1)))}   # Eq. 7
        video, maps = out["video"], b["maps_target"].transpose(1, 2)
        frames = torch.cat([video, maps], 1).transpose(1, 2).flatten(0, 1)                      # every [Ī_i, M_i]
        return {"rec": lambda: losses.l1(video, b["target"].transpose(1, 2)),
                "mask": lambda: out["mask"].mean(),
                "g_video": lambda: losses.wgan_g(self.nets["D_V"](torch.cat([video, maps], 1))),
                "g_image": lambda: losses.wgan_g(d_i(frames))}                                    # (1/K) sum_i

    def monitor(self, b: dict, out: dict) -> dict:
        """The L1 error of the trivial answer beside ``rec``: copying I_t (forecast), or G_M's Ṽ (refine)."""
        with torch.no_grad():
            if self.cfg["stage"] == "forecast":
                return {"rec_copy": losses.l1(b["source"], b["target"])}
            return {"rec_forecast": losses.l1(out["forecast"], b["target"].transpose(1, 2))}


default_config = Trainer.default_config


def chapter_config(profile: str, stage: str = "forecast", forecast: dict | None = None, seed: int = 0,
                   steps: int | None = None, **options) -> dict:
    """A run of the FRGAN chapters and the comparison: the profile's config with the book's loss weights
    (Eq. 4 as printed in the paper profile, the public code's elsewhere), for 1/:data:`SHARE` of the
    profile's steps (or ``steps``). A refine config trains on the frozen G_M of ``forecast`` (default: this
    function's forecast config of the same seed); ``options`` (``data``, ``image_size``, ...) change either."""
    weights = PAPER_WEIGHTS if profile == "paper" else CODE_WEIGHTS
    if stage == "refine":
        forecast = forecast or chapter_config(profile, seed=seed, steps=steps, **options)
        options = {**options, "stage": "refine", "forecast": forecast}
        seed = forecast["seed"]
    return budget(NAME, profile, SHARE.get(profile, 1), steps, seed=seed, **{"weights": weights, **options})
