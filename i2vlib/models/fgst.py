"""FGST (Li, Fang, Yang, Wang, Lu and Yang, ECCV 2018, "Flow-Grounded Spatial-Temporal Video Prediction from Still
Images"), the flow-based baseline AffineGAN compares with, as its authors released it.

AffineGAN §4.1.1: "We compare AffineGAN with several state-of-the-arts: ConvLSTM [29], VideoGAN [26], the
flow-grounded spatial-temporal (FGST) method [13], and GANimation [17]. ... As the LSTM and 3D convolution
implementations require a fixed-length sequence as inputs, we uniformly sample/up-sample 9 frames from each original
video clips for ConvLSTM, VideoGAN, and FGST." §4.1.2: "FGST's results are better than VideoGAN's due to the 3D
convolution over multiple optical flows, but it generates distorted images because the flows extracted by SPyNet
[18] are probably not fine-grained enough to capture facial changes". Its Table 2 gives FGST ACD-I 0.99, ACD-C 1.10
and ACD-G 0.98 (AffineGAN 0.31, 0.29 and 0.39); in its Table 1, users prefer AffineGAN's videos to FGST's 79.7% of
the time.

FGST predicts a video from one still image in two phases (its abstract): a *multi-flow prediction* phase, "modeled in
a variational probabilistic manner with spatial-temporal relationships learned through 3D convolutions" (a 3D-cVAE),
and a *flow-to-frame synthesis* phase that turns the flows into frames. The authors' public code (Torch,
github.com/Yijunmaverick/FlowGrounded-VideoPrediction: ``train_3DcVAE.lua``, ``train_flow2rgb.lua``, ``test.lua``,
``src/VAE.lua``, ``models/*_conv4_1.lua``) fixes what the abstract leaves open; this module follows it
(``design="released"``, the default). Its warping is SpyNet's CUDA sampler (``BilinearSamplerBHWD.cu``): bilinear,
flows in pixels, coordinates clamped to the border, as :func:`warp`::

    F_t    = flow(I_t -> I_{t-1}),  t = 1 ... T      consecutive flows, frame to frame, in pixels:
                                                     I_t(p) ~ I_{t-1}(p + F_t(p))          (:func:`consecutive_flows`)
    mu, s  = q([I0, F_1:T])                          VolEncoder: 3-D convolutions, batch norm, max-pooling -> z's
                                                     Gaussian, a code of ``z_dim`` channels at 1 x 1 x 1
    z      = mu + s * eps  (training),  z ~ N(0, I)  (generation)
    e      = E(I0)                                   ImEncoder: strided 2-D convolutions to the same 1 x 1 code
    F^_1:T = B tanh(D(e + e * z))                    VolDecoder: 3-D transposed convolutions; |F^| < B pixels
    I^_0   = I0,   I^_t = G(warp(I^_{t-1}, F^_t), F^_t)   flow2rgb, recursively from its own previous frame

    G(W, F) = Dec([C(W), P(F)])                      C, P: VGG-19's layers up to conv4_1 (on the warped frame, on
                                                     the flow), Dec: their mirror with nearest upsampling (AdaIN's
                                                     decoder); reflection padding, no normalisation, linear output

and trains each phase on its own, from the estimated flows::

    3D-cVAE:  flow  |F^ - F|_1                       (mean over the elements)
              kl    KL(N(mu, s^2) || N(0, I))        summed over z and over the clips of the batch
    flow2rgb: mse   |G(warp(I_t, F) , F) - I_{t+2}|^2   F = flow(I_{t+2} -> I_t): a real frame and the frame two
              perceptual  sum_l |phi_l(I^) - phi_l(I)|^2   steps after it (``maxStep`` 3), one pair per clip

flow2rgb never sees a predicted flow or its own output in training; only generation chains it, each frame warped
from the one before by the predicted consecutive flow (``test.lua``). The 3D-cVAE never sees a frame after the input
but through the flows. The phases share no parameter and no loss term, so training them side by side in one run, as
here, each with its own learning rate (``lr_flow`` for the 3D-cVAE, ``lr`` for flow2rgb) and its own batch, is
training them separately as the released scripts do.

The released losses, exactly: ``train_flow2rgb.lua`` computes an MSE of the frames, but back-propagates only the
gradient of its loss network, VGG-19 (``vgg_normalised.t7``) with an MSE at five of its layers, weight 1 each: the
network's first layer, a 1 x 1 convolution that turns RGB in [0, 1] into VGG's mean-free BGR in grey levels (so the
frames' squared error in 0-255 units), then relu1_1, relu2_1, relu3_1 and relu4_1. Here ``mse`` is the first (the
frames' squared error in grey levels) and ``perceptual`` the four others, with the features of an identity network
of FGST's own (``perceptual_net="own"``, :mod:`.perceptual`): the outputs of its trunk's four stages, at 1/2 ... 1/16
of the frame, for VGG's four at 1 ... 1/8. VGG's weights are not available offline. The network has the design and
the objective of the book's identity instrument (:mod:`i2vlib.instruments`) but not its weights: it was trained with
another seed on 8000 training identities the instrument never saw, because a baseline whose loss reads the
instrument's features learns to please the network that judges it (ACD-I, the ``identity`` health gate; issue 71).
The first version read the instrument's trunk itself (``perceptual_net="instrument"``), kept as a named variant: FGST's
records until 2026-11-29 were trained with it, and their configs, which lack the option, are read as it and keep their
hashes (:func:`perceptual_net_of`).

The released code and the book's (``design="released"``):

========================  ===============================================  =============================================
                          the released code                                here, and why
========================  ===============================================  =============================================
training flows            SPyNet (end2end-spynet) on each consecutive      Farneback's (:data:`FARNEBACK`, OpenCV) on
                          pair, in pixels                                  grey frames, the same pairs: no learned flow
                                                                           network ships here
frames                    17 per window (``maxStep``), 16 flows            9 per clip, 8 flows (``length``): AffineGAN
                                                                           §4.1.1's 9 frames
data                      random windows of a video (the 3D-cVAE: 17       the book's clips, resampled to 9 frames from
                          frames; flow2rgb: 3)                             the neutral one (AffineGAN's adaptation); a
                                                                           pair (t, t + 2) of each for flow2rgb
image size                128 px                                           the profile's (64 px in the book), a stride-2
                                                                           stage fewer (:func:`stage_widths`)
widths                    64 (``ngf``, ``naf``, ``conv_num`` / 4)          the profile's ``ngf`` (16 in the book)
code size                 ``z_dim`` = 2000                                 2000 x ``ngf`` / 64 (500 in the book): z is
                                                                           the code layer's channels, a width
flow bound B              5 pixels at 128 px (``MulConstant(5)``)          5 x size / 128 pixels (2.5 at 64 px)
q's input                 [5 I0, F] x 0.2, I0 in [0, 1]                    [I0, F / B], I0 in [-1, 1], the book's range
perceptual loss           VGG-19 features (above)                          the trunk of an identity network of FGST's
                                                                           own (above, ``perceptual_net="own"``), not
                                                                           the identity instrument's, which judges it
                                                                           (ACD-I, the ``identity`` gate)
schedule                  two scripts, one per phase: Adam at 2e-5         one run, both phases side by side, each its
                          (3D-cVAE) and 1e-4 (flow2rgb), batch 4, up to    own Adam parameter group: the same rates in
                          5000 epochs of 1000 samples, the lowest          the paper profile, 5 times them in the book
                          training loss kept                               (the book profile's rule); the last step kept
Adam's betas              ``beta=`` passed, a key ``optim.adam`` does      (0.9, 0.999), what ran
                          not read: its defaults (0.9, 0.999)
steps                     up to 5000 epochs of 1000 samples per phase      the profile's; AffineGAN Table 2's arm trains
                          (1.25M steps of batch 4)                         16 times that table's budget at every rung
                                                                           (:data:`i2vlib.protocol.tables.
                                                                           OWN_BUDGET`): at the budget it renders no face
learning rate             constant                                         constant (``decay_from`` = 1)
generation's z            a fresh N(0, I) draw per call (``test.lua``)     one N(0, I) draw per model, seeded by the
                                                                           config's ``seed``: the one API renders one
                                                                           clip per face, the same at every call
initialisation            Torch7's defaults                                PyTorch's (the same uniform law for the
                                                                           convolutions; batch-norm scales start at 1,
                                                                           Torch7's uniform in [0, 1])
models                    one per data set                                 one per expression, as the book's other
                                                                           baselines (AffineGAN does not say)
========================  ===============================================  =============================================

The book's own design (``design="book"``), kept as a named variant: it is what the book ran as FGST before it read
the released code, from the abstract alone, and its records keep their hashes (a config without ``design`` and with
the book design's loss weights is read as this variant)::

    F_t    = Farneback(I_t, I0)                      cumulative flows, frame t back to the input  (:func:`optical_flow`)
    mu, s  = q(I0, F_1:T)                            3-D convolutions of [F, I0] -> z's Gaussian (``z_dim`` = 16)
    F^_1:T = p(E(I0), z)                             3-D transposed convolutions, the input's features at every scale
    W_t    = warp(I0, F_t)                           the input warped directly, not the previous frame
    R_t, m_t = G([I0, W_t, F_t])                     a U-Net per frame: an image and an occlusion mask
    I^_t   = m_t * W_t + (1 - m_t) * R_t

with losses ``flow`` |F^ - F|_1 (weight 1), ``kl`` (0.01, averaged over clips), ``rec`` |I^_t - I_t|_1 (10) and
``gan``, a 3-D critic on [I0, I^_1:T] (1); the synthesis learns from the estimated flows, both phases in one run at
the profile's rate, and generation takes z = 0, the prior's mean.

Generation (both designs): :class:`Model` renders the ``length`` frames after the input, at a = 1/length, ..., 1
(:attr:`~Model.supported_intensities`), like the VGAN baseline.

This module holds the method: its options, loss terms, :class:`Trainer` and :class:`Model`. Its building blocks are
in :mod:`.fgst_parts`, where the functions, networks and data this docstring names without a module live (the
flows, :data:`FARNEBACK`, :func:`warp`, :func:`stage_widths`, both designs' networks, the perceptual features).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import api, losses
from ..config import RENAMED, training_config
from ..data.clips import from_tensor
from ..errors import I2VError
from .fgst_parts import (PERCEPTUAL_NETS, RELEASED_SIZE, BookGenerator, FGSTGenerator, Perceptual, consecutive_flows,
                         kl_divergence, optical_flow)
from .frgan_parts import VideoCritic
from .gan import GANTrainer, linear_decay
from .vgan import positions

NAME = "fgst"
DESIGNS = ("released", "book")
LENGTH = 8          # frames after the input: AffineGAN's 9-frame clips
Z_DIM = 16          # the book design's code
RELEASED_Z = 2000   # the released code's z_dim, at its widths of 64
GREY = 127.5        # grey levels per unit of the book's [-1, 1] images

_CODE = "the released code (FlowGrounded-VideoPrediction)"
STATED = {
    "length": "AffineGAN §4.1.1: 9 frames sampled or up-sampled per clip for FGST (the input and 8 after it)",
    "image_size": f"{_CODE}: --imageSize 128",
    "ngf": f"{_CODE}: ngf = naf = 64, conv_num = 256 (its first layers' 64)",
    "z_dim": f"{_CODE}: z_dim = 2000",
    "batch": f"{_CODE}: --batchSize 4, both phases",
    "lr": f"{_CODE}: flow2rgb, Adam at --learningRate 0.0001",
    "lr_flow": f"{_CODE}: the 3D-cVAE, Adam at --learningRate 0.00002",
    "betas": f"{_CODE}: Adam's defaults (0.9, 0.999); the scripts' beta= is a key optim.adam does not read",
    "decay_from": f"{_CODE}: a constant learning rate",
    "steps": f"{_CODE}: --nEpochs 5000 of --epochSize 1000 samples at batch 4, each phase",
    "norm": f"{_CODE}: batch norm in the 3D-cVAE's volumetric layers (none in its image encoder or flow2rgb)",
    "weights": f"{_CODE}: L1 of the flows 1, KL --KLWeight 0.1; flow2rgb's loss network at weight 1 per layer",
    "perceptual_net": f"{_CODE}: VGG-19 (vgg_normalised.t7), not available offline; here an identity network of "
                      "FGST's own (i2vlib.models.perceptual), trained apart from the identity instrument that "
                      "judges it",
}
UNSTATED = {
    "expressions": "one model per expression, as the book's other baselines (AffineGAN does not say)",
    "videos": "200 per expression, as the other methods'",
}

RELEASED_WEIGHTS = {"flow": 1.0, "kl": 0.1, "mse": 1.0, "perceptual": 1.0}
BOOK_WEIGHTS = {"flow": 1.0, "kl": 0.01, "rec": 10.0, "gan": 1.0}
# Each design's options and profile changes; the book design's are those its records were trained with.
OPTIONS = {
    "released": {"design": "released", "length": LENGTH, "z_dim": RELEASED_Z, "lr_flow": 2e-5, "norm": "batch",
                 "betas": [0.9, 0.999], "decay_from": 1.0, "perceptual_net": "own", "weights": RELEASED_WEIGHTS},
    "book": {"design": "book", "length": LENGTH, "z_dim": Z_DIM, "weights": BOOK_WEIGHTS},
}
CHANGES = {
    # the paper profile's rates are the released ones; the book's five times them (the book profile's rule)
    "released": {"smoke": {"batch": 2, "frames": [9, 12], "z_dim": 250, "lr_flow": 4e-5},
                 "book": {"steps": 1000, "batch": 4, "frames": [9, 16], "z_dim": 500, "lr": 5e-4, "lr_flow": 1e-4},
                 "paper": {"image_size": RELEASED_SIZE, "batch": 4, "frames": [9, 32], "lr": 1e-4,
                           "steps": 1_250_000}},
    "book": {"smoke": {"batch": 2, "frames": [9, 12]},
             "book": {"steps": 1000, "batch": 4, "frames": [9, 16]},
             "paper": {"frames": [9, 32], "steps": 40000}},
}


def generator(cfg: dict) -> nn.Module:
    """The generator of ``cfg``'s design: :class:`FGSTGenerator` (released) or :class:`BookGenerator`."""
    return (FGSTGenerator if cfg["design"] == "released" else BookGenerator)(cfg)


def design_of(overrides: dict) -> str:
    """The design of a config given without ``design``: the book's when its weights name a term only the book
    design has (``rec``, ``gan``: a config written before the option existed), else the released one."""
    return "book" if set(overrides.get("weights") or {}) & {"rec", "gan"} else "released"


# The options of every released config when ``perceptual_net`` was added (2026-11-29), but ``method`` and ``profile``:
# a config that names them all and not ``perceptual_net`` was saved before the option existed.
BEFORE_PERCEPTUAL_NET = frozenset({
    "augment", "batch", "betas", "checkpoint_every", "critic_steps", "d_layers", "data", "decay_from", "design", "ema",
    "expressions", "frames", "image_size", "jitter", "length", "lr", "lr_d", "lr_flow", "ndf", "ngf", "norm", "seed",
    "spectral_norm", "steps", "train_curves", "videos", "weights", "z_dim"})


def perceptual_net_of(overrides: dict) -> str:
    """The perceptual features of a released config given without ``perceptual_net``: the instrument's for a config
    saved before the option existed (it names every option of :data:`BEFORE_PERCEPTUAL_NET`: FGST's records until
    2026-11-29, and their runs' checkpoints), else FGST's own."""
    return "instrument" if BEFORE_PERCEPTUAL_NET <= {RENAMED.get(k, k) for k in overrides} else "own"


# ------------------------------------------------------------------------------------------------ training
class Trainer(GANTrainer):
    """FGST's networks, batches and loss terms; ``design`` picks the released code's (default) or the book's."""

    name = NAME
    options, profile_changes = OPTIONS["released"], CHANGES["released"]
    g_losses = {"flow": ("flow", "|F^ - F|_1: the 3D-cVAE's reconstruction of the consecutive flows, in pixels"),
                "kl": ("kl", "KL(q(z | I0, F) || N(0, I)), summed over z and the batch: the 3D-cVAE's prior term"),
                "mse": ("mse", "|I^ - I|^2 in grey levels: flow2rgb's frame two steps on (its loss network's first "
                               "layer)"),
                "perceptual": ("perceptual", "sum_l |phi_l(I^) - phi_l(I)|^2: the four stages of an identity network's "
                                             "trunk (perceptual_net) for VGG-19's relu1_1 ... relu4_1")}
    book_critics = ("d_video",)
    book_d_losses = {"d_v": ("gan", "the cross-entropy GAN loss of the 3-D critic D on [I0, I_1:T] against "
                                    "[I0, I^_1:T]")}
    book_g_losses = {"g_v": ("gan", "-log D([I0, I^_1:T]): the synthesised clip should look real (the book's critic)"),
                     "rec": ("rec", "|I^_t - I_t|_1: flow-to-frame synthesis against the true frames"),
                     "flow": ("flow", "|F^ - F|_1: the 3D-cVAE's reconstruction of the Farneback flows, in pixels"),
                     "kl": ("kl", "KL(q(z | I0, F) || N(0, I)): the 3D-cVAE's prior term")}

    @classmethod
    def default_config(cls, profile: str = "book", design: str | None = None, **overrides) -> dict:
        """The full config of ``design`` (default: :func:`design_of` the overrides, the released one for none)."""
        design = design_of(overrides) if design is None else design
        if design not in DESIGNS:
            raise I2VError(f"fgst option design={design!r}; choose one of {', '.join(DESIGNS)}")
        if design == "released" and overrides.get("perceptual_net") is None:
            overrides = {**overrides, "perceptual_net": perceptual_net_of({**overrides, "design": design})}
        cfg = training_config(cls.name, profile, OPTIONS[design], CHANGES[design], {**overrides, "design": design})
        return cls.check_config(cfg)

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if cfg.get("design") not in DESIGNS:
            raise I2VError(f"fgst option design={cfg.get('design')!r}; choose one of {', '.join(DESIGNS)}")
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"FGST is one model per expression here, as the book's other baselines; got "
                           f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"FGST learns clips of 1 + {cfg['length']} frames (AffineGAN §4.1.1: 9 frames per clip); "
                           f"training clips need at least {cfg['length'] + 1} frames, got frames={list(cfg['frames'])}")
        z = cfg["z_dim"]
        if isinstance(z, bool) or not isinstance(z, int) or not 1 <= z <= 4096:
            raise I2VError(f"fgst option z_dim (the 3D-cVAE's code size) must be an integer in [1, 4096], got {z!r}")
        if cfg["design"] == "released":
            if cfg["perceptual_net"] not in PERCEPTUAL_NETS:
                raise I2VError(f"fgst option perceptual_net={cfg['perceptual_net']!r}; choose one of "
                               f"{', '.join(PERCEPTUAL_NETS)}")
            lr = cfg["lr_flow"]
            if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr <= 1:
                raise I2VError(f"fgst option lr_flow (the 3D-cVAE's learning rate) must be a number in (0, 1], "
                               f"got {lr!r}")
        return cfg

    def __init__(self, cfg: dict):
        if self.check_config(dict(cfg))["design"] == "book":
            self.critics, self.d_losses, self.g_losses = self.book_critics, self.book_d_losses, self.book_g_losses
        super().__init__(cfg)
        self.perceptual = None
        if self.cfg["design"] == "released":
            g = self.nets["generator"]                                # each phase at its own rate
            self.optimizers["g"] = torch.optim.Adam(
                [{"params": g.predictor.parameters(), "lr": float(self.cfg["lr_flow"])},
                 {"params": g.renderer.parameters()}], lr=float(self.cfg["lr"]), betas=tuple(self.cfg["betas"]))
            self.schedulers = linear_decay(self.optimizers, self.cfg["steps"], self.cfg["decay_from"])
            if self.weight("perceptual") > 0:
                self.perceptual = Perceptual.load(self.cfg["perceptual_net"])

    def loss_networks(self) -> dict[str, nn.Module]:
        return {} if self.perceptual is None else {"perceptual": self.perceptual}

    def build(self) -> dict[str, nn.Module]:
        if self.cfg["design"] == "released":
            return {"generator": FGSTGenerator(self.cfg)}
        return {"generator": BookGenerator(self.cfg),
                "d_video": VideoCritic(3, self.cfg["ndf"], self.cfg["image_size"], 1 + self.cfg["length"])}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames (the input first), their flows (``flow``,
        (N, T, 2, S, S): consecutive in the released design, each back to the input in the book's) and the cVAE's
        noise eps (N, z_dim); the released design adds flow2rgb's pair of each clip: a frame ``source``, the frame two
        steps on ``frame`` and the flow between them ``pair_flow`` (from ``frame`` back to ``source``)."""
        n, length = self.cfg["batch"], self.cfg["length"]
        b = self.sampler().clips(rng, n, length + 1)
        video = torch.cat([b["neutral"][:, None], b["target"]], 1)
        if self.cfg["design"] == "book":
            frames, neutral = from_tensor(b["target"]), from_tensor(b["neutral"])
            flow = torch.from_numpy(np.stack([optical_flow(f, r) for f, r in zip(frames, neutral)]))
            eps = torch.from_numpy(rng.standard_normal((n, self.cfg["z_dim"])).astype(np.float32))
            return {**b, "video": video, "flow": flow, "eps": eps}
        clips = from_tensor(video)
        flow = torch.from_numpy(np.stack([consecutive_flows(c) for c in clips]))
        eps = torch.from_numpy(rng.standard_normal((n, self.cfg["z_dim"])).astype(np.float32))
        t = rng.integers(0, length - 1, size=n)                        # the pair (t, t + 2) of 1 + length frames
        rows, ts = torch.arange(n), torch.from_numpy(t)
        pair = np.concatenate([optical_flow(c[i + 2][None], c[i]) for c, i in zip(clips, t)])
        return {**b, "video": video, "flow": flow, "eps": eps, "t": ts,
                "source": video[rows, ts], "frame": video[rows, ts + 2], "pair_flow": torch.from_numpy(pair)}

    def forward(self, b: dict) -> dict:
        g = self.nets["generator"]
        mu, logvar = g.predictor.posterior(b["neutral"], b["flow"])
        z = mu + (0.5 * logvar).exp() * b["eps"]                      # the reparameterisation
        if self.cfg["design"] == "book":
            fake, mask, _ = g.renderer(b["neutral"], b["flow"])       # synthesis from the estimated flows
            return {"flow": g.predictor(b["neutral"], z), "mu": mu, "logvar": logvar, "fake": fake, "mask": mask}
        return {"flow": g.predictor(b["neutral"], z), "mu": mu, "logvar": logvar,
                "fake": g.renderer(b["source"], b["pair_flow"])}     # flow2rgb on a real frame and an estimated flow

    def _d(self, i0: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """D's logit of the input followed by ``frames`` (N, T, 3, S, S), as (N, 1)."""
        return self.nets["d_video"](torch.cat([i0[:, None], frames], 1).transpose(1, 2))[:, None]

    def d_terms(self, b: dict, out: dict) -> dict:
        if self.cfg["design"] != "book":
            return {}
        return {"d_v": lambda: losses.gan_d(self._d(b["neutral"], b["target"]),
                                            self._d(b["neutral"], out["fake"].detach()))}

    def g_terms(self, b: dict, out: dict) -> dict:
        if self.cfg["design"] == "book":
            return {"g_v": lambda: losses.gan_g(self._d(b["neutral"], out["fake"])),
                    "rec": lambda: losses.l1(out["fake"], b["target"]),
                    "flow": lambda: losses.l1(out["flow"], b["flow"]),
                    "kl": lambda: kl_divergence(out["mu"], out["logvar"])}
        return {"flow": lambda: losses.l1(out["flow"], b["flow"]),
                "kl": lambda: kl_divergence(out["mu"], out["logvar"]) * len(out["mu"]),   # summed over the batch
                "mse": lambda: F.mse_loss(GREY * out["fake"].float(), GREY * b["frame"].float()),
                "perceptual": lambda: self.perceptual.to(out["fake"].device)(out["fake"], b["frame"])}


default_config = Trainer.default_config


class Model(api.ClipModel):
    """A trained FGST behind :class:`i2vlib.api.Model`: the ``length`` frames after the input, a = 1/length ... 1."""

    method = NAME
    network = staticmethod(generator)
    single_reason = "FGST is one model per expression: it"
    clip_source = "AffineGAN §4.1.1: 9 frames, the input first"

    def __init__(self, net: nn.Module, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.length))
