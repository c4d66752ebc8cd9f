"""The GAN trainer base every method builds on.

A method declares

* its config: ``options`` (its own options and loss ``weights``), ``choices`` (allowed values),
  ``profile_changes`` (where its budget differs from :data:`i2vlib.config.PROFILES`) and ``check``;
* its networks: ``build()`` returns them by name; ``critics`` names the discriminators;
* its data: ``sample(rng)`` returns one batch (through :class:`i2vlib.data.sampling.Sampler`);
* its losses: ``forward(batch)`` runs the generator once, ``d_terms(batch, out)`` and
  ``g_terms(batch, out)`` return named loss terms as zero-argument functions; ``d_losses`` and
  ``g_losses`` map each name to its weight key and its equation in the paper; ``loss_networks()``
  returns the frozen networks from outside the method that its terms read (FGST's perceptual features,
  Eq. 15's pose network), which must never be one that measures a claim or a gate
  (``tests/test_loss_networks.py`` holds every method to it).

The base does the rest: weights (a weight of 0 removes the term *and its computation*), the
critics frozen during the generator's half, Adam optimisers with pix2pix's linear decay (the critics'
at their own rate with ``lr_d``), an exponential moving average of the generator (``ema``: the
``generator_ema`` net, which :func:`i2vlib.checkpoint.generator_weights` then loads),
``critic_steps`` critic updates per generator update (on the same batch; a WGAN-GP penalty
redraws its interpolation each time), autocast, ``torch.compile``, and stages: a net listed in
``frozen`` gets no optimiser, and ``stages`` maps a frozen net to the config key that holds the
config of the earlier run that trains it (FRGAN: G_R learns on a frozen G_M). The run store
(:mod:`i2vlib.runs`) finds or trains that run and hands its generator's weights to :meth:`begin`;
since its config is part of this one, changing it retrains both.
The training loop (:mod:`i2vlib.train`) owns checkpoints, resume, logs and progress.

One step::

    out = forward(batch)                                   # generator, once
    critics learn:   sum_i w_i * d_term_i   (critic_steps times, on out detached)
    generators learn: sum_j w_j * g_term_j  (critics frozen)
"""

from __future__ import annotations

import contextlib
import copy
import re
import warnings

import numpy as np
import torch
from torch import nn

from ..checkpoint import load_weights
from ..config import check_training, training_config
from ..data.sampling import Sampler, training_source
from . import full_config


class GANTrainer:
    """Base of a method's ``Trainer``: what :func:`i2vlib.train.train` needs (``nets``, ``optimizers``,
    ``schedulers``, ``loss_names``, ``sample``, ``step``, ``compile``)."""

    name = "?"
    options: dict = {}
    choices: dict = {}
    profile_changes: dict = {}
    critics: tuple[str, ...] = ()
    frozen: tuple[str, ...] = ()
    stages: dict[str, str] = {}                  # frozen net -> config key of the earlier stage's config
    d_losses: dict[str, tuple[str, str]] = {}   # term -> (weight key, equation)
    g_losses: dict[str, tuple[str, str]] = {}
    monitors: tuple[str, ...] = ()               # logged values that are not losses

    # -- config -------------------------------------------------------------------------
    @classmethod
    def default_config(cls, profile: str = "book", **overrides) -> dict:
        """The full configuration of a run: the paper's settings plus the profile's budget."""
        return cls.check_config(training_config(cls.name, profile, cls.options, cls.profile_changes, overrides))

    @classmethod
    def check_config(cls, cfg: dict) -> dict:
        """Shared checks (:func:`i2vlib.config.check_training`), then the method's :meth:`check`;
        the configs of earlier stages are completed and checked too."""
        for key in cls.stages.values():
            cfg[key] = full_config(cfg[key])
        return cls.check(check_training(cfg, cls.choices))

    @classmethod
    def check(cls, cfg: dict) -> dict:
        return cfg

    @classmethod
    def earlier(cls, cfg: dict) -> dict[str, dict]:
        """``{frozen net: the config of the earlier run whose generator it is}`` for a full config."""
        return {name: cfg[key] for name, key in cls.stages.items()}

    # -- to implement -------------------------------------------------------------------
    def build(self) -> dict[str, nn.Module]:
        """The networks by name: ``generator`` (what :mod:`i2vlib.api` loads), the ``critics``, the ``frozen``.
        Build them in a fixed order: their initialisation draws from the seeded torch generator."""
        raise NotImplementedError

    def sample(self, rng: np.random.Generator) -> dict:
        """One batch of tensors, drawn with ``rng`` only (the loop seeds it from (seed, step))."""
        raise NotImplementedError

    def forward(self, batch: dict) -> dict:
        """The generator's pass, once per step; both halves read its outputs (the critics detached)."""
        raise NotImplementedError

    def d_terms(self, batch: dict, out: dict) -> dict:
        """The critics' loss terms: ``{name: zero-argument function}`` for the names of ``d_losses``."""
        return {}

    def g_terms(self, batch: dict, out: dict) -> dict:
        """The generators' loss terms: ``{name: zero-argument function}`` for the names of ``g_losses``."""
        raise NotImplementedError

    def loss_networks(self) -> dict[str, nn.Module]:
        """The frozen networks from outside the method that its loss terms read, by name (none by default): a
        network that measures a claim or a gate must never be among them."""
        return {}

    def monitor(self, batch: dict, out: dict) -> dict:
        """Values logged beside the losses (names in ``monitors``), computed after the update."""
        return {}

    # -- the base -----------------------------------------------------------------------
    def __init__(self, cfg: dict):
        self.cfg = self.check_config(dict(cfg))
        nets = self.build()
        if self.cfg.get("ema"):   # the generator's moving average: evaluated and shipped, never trained
            nets["generator_ema"] = copy.deepcopy(nets["generator"])
            self.frozen = (*self.frozen, "generator_ema")
        self.nets = nn.ModuleDict(nets)
        for name in self.frozen:
            self.nets[name].requires_grad_(False).eval()
        betas = tuple(self.cfg["betas"])
        rates = {"g": self.cfg["lr"], "d": self.cfg.get("lr_d") or self.cfg["lr"]}
        generators = [k for k in self.nets if k not in self.critics and k not in self.frozen]
        groups = {"g": generators, "d": list(self.critics)}
        self.optimizers = {k: torch.optim.Adam([p for n in names for p in self.nets[n].parameters()], lr=rates[k],
                                               betas=betas) for k, names in groups.items() if names}
        self.schedulers = linear_decay(self.optimizers, self.cfg["steps"], self.cfg["decay_from"])
        self.scalers, self.saved_scalers = {}, {}   # fp16 gradient scalers, and their state from a checkpoint
        self._sampler = None

    @property
    def loss_names(self) -> tuple[str, ...]:
        return (*self.d_losses, *self.g_losses, *self.monitors)

    def weight(self, key: str) -> float:
        """The weight of loss ``key`` in the config (terms with weight 0 are never computed): an entry of
        ``weights``, or a top-level option for a term added since configs were first hashed (AffineGAN's
        ``classify``), which leaves the ``weights`` of older configs, and so their hashes, as they were."""
        return float(self.cfg["weights"][key] if key in self.cfg["weights"] else self.cfg[key])

    def uses(self, term: str) -> bool:
        """Whether loss term ``term`` is computed (its weight is not 0)."""
        key = (self.d_losses.get(term) or self.g_losses[term])[0]
        return self.weight(key) > 0

    def sampler(self):
        """The :class:`~i2vlib.data.sampling.Sampler` over this config's training clips, opened on first use."""
        if self._sampler is None:
            self._sampler = Sampler(training_source(self.cfg), self.cfg["expressions"], self.cfg["augment"])
        return self._sampler

    def begin(self, frozen: dict[str, dict]) -> None:
        """Before the first step of a new run: every frozen net of ``stages`` gets the generator weights
        of its earlier stage's run, ``frozen[net]`` (:func:`i2vlib.runs.train` fetches them)."""
        for name in self.stages:
            load_weights(self.nets[name], frozen[name], f"the earlier stage of {self.name} ({name})")

    def step(self, batch: dict, autocast=contextlib.nullcontext) -> dict[str, torch.Tensor]:
        """One GAN step: the critics' half (``critic_steps`` times), then the generators' half."""
        with autocast():
            out = self.forward(batch)
        values, stepped = {}, {}   # the optimisers that stepped, in order; their schedules follow
        if self.d_losses:
            self._critics_learn(True)
            for _ in range(int(self.cfg["critic_steps"])):
                with autocast():
                    values.update(self._update("d", self.d_losses, self.d_terms(batch, out), stepped))
            self._critics_learn(False)
        with autocast():
            values.update(self._update("g", self.g_losses, self.g_terms(batch, out), stepped))
        if "g" in stepped and "generator_ema" in self.nets:
            self._average()
        with warnings.catch_warnings():
            # an fp16 gradient scaler skips the steps whose gradients overflowed; the schedule goes on
            warnings.filterwarnings("ignore", re.escape("Detected call of `lr_scheduler.step()` before"))
            for group in stepped:
                self.schedulers[group].step()
        values.update(self.monitor(batch, out))
        return values

    @torch.no_grad()
    def _average(self) -> None:
        """theta_ema <- d theta_ema + (1 - d) theta after every generator update (d = ``ema``); buffers are copied."""
        decay, ema, gen = float(self.cfg["ema"]), self.nets["generator_ema"], self.nets["generator"]
        for avg, p in zip(ema.parameters(), gen.parameters()):
            avg.lerp_(p.detach().to(avg.dtype), 1.0 - decay)
        for avg, b in zip(ema.buffers(), gen.buffers()):
            avg.copy_(b)

    def _update(self, group: str, declared: dict, terms: dict, stepped: dict) -> dict:
        values, total = {}, None
        for name, (key, _) in declared.items():
            w = self.weight(key)
            if w == 0:
                values[name] = torch.zeros(())
                continue
            values[name] = terms[name]()
            total = w * values[name] if total is None else total + w * values[name]
        if total is not None:
            opt, scaler = self.optimizers[group], self.scalers.get(group)
            opt.zero_grad(set_to_none=True)
            if scaler is None:
                total.backward()
                opt.step()
            else:
                scaler.scale(total).backward()
                scaler.step(opt)
                scaler.update()
            stepped[group] = True
        return values

    def scale_gradients(self, device_type: str, enabled: bool) -> None:
        """fp16 training: one gradient scaler per optimiser (restored from a checkpoint when it has one),
        so that small gradients do not underflow; bf16 and fp32 need none."""
        self.scalers = {}
        if enabled:
            for group in self.optimizers:
                self.scalers[group] = torch.amp.GradScaler(device_type)
                if group in self.saved_scalers:
                    self.scalers[group].load_state_dict(self.saved_scalers[group])

    def fuse_adam(self, fused: bool = True) -> None:
        """Step every optimiser with PyTorch's fused Adam kernel (``Adam(fused=True)``: one pass over all its
        parameters instead of ten elementwise operations on each) or, ``fused=False``, with its default
        implementation. The update is the same formula, rounded differently: a run is no longer bit for bit the
        unfused one, so :func:`i2vlib.train.train` leaves it off unless asked (``fused_adam``). Set after a
        checkpoint's optimiser state is loaded, since that state carries the flag of the run that saved it."""
        for opt in self.optimizers.values():
            for group in opt.param_groups:
                group["fused"], group["foreach"] = (True, False) if fused else (None, None)
            opt._step_supports_amp_scaling = bool(fused)   # what Adam(fused=True) sets: fp16 scalers unscale inside

    def _critics_learn(self, flag: bool) -> None:
        for name in self.critics:
            self.nets[name].requires_grad_(flag)

    def compile(self) -> None:
        """``torch.compile`` every part of the generators (their parts are called one by one in training)."""
        for name, net in self.nets.items():
            if name not in self.critics:
                for part in _parts(net):
                    part.compile()

    @classmethod
    def loss_table(cls) -> list[dict]:
        """The loss terms as rows (half, term, weight key, equation): what the chapters print."""
        return [{"half": half, "term": term, "weight": key, "equation": eq}
                for half, declared in (("critics", cls.d_losses), ("generator", cls.g_losses))
                for term, (key, eq) in declared.items()]


def _parts(net: nn.Module):
    for child in net.children():
        if isinstance(child, (nn.ModuleDict, nn.ModuleList)):
            yield from _parts(child)
        else:
            yield child


def linear_decay(optimizers: dict, steps: int, decay_from: float) -> dict:
    """Constant learning rate, then linear decay to 0 over the last ``1 - decay_from`` of the steps (pix2pix)."""
    start = int(decay_from * steps)

    def factor(s: int) -> float:
        return 1.0 if s < start else max(0.0, (steps - s) / max(1, steps - start))

    return {k: torch.optim.lr_scheduler.LambdaLR(o, factor) for k, o in optimizers.items()}
