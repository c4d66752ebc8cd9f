"""FGST (Li, Fang, Yang, Wang, Lu and Yang, ECCV 2018, "Flow-Grounded Spatial-Temporal Video Prediction from Still
Images"), the flow-based baseline AffineGAN compares with.

AffineGAN §4.1.1: "We compare AffineGAN with several state-of-the-arts: ConvLSTM [29], VideoGAN [26], the
flow-grounded spatial-temporal (FGST) method [13], and GANimation [17]. ... As the LSTM and 3D convolution
implementations require a fixed-length sequence as inputs, we uniformly sample/up-sample 9 frames from each original
video clips for ConvLSTM, VideoGAN, and FGST." §4.1.2: "FGST's results are better than VideoGAN's due to the 3D
convolution over multiple optical flows, but it generates distorted images because the flows extracted by SPyNet
[18] are probably not fine-grained enough to capture facial changes". Its Table 2 gives FGST ACD-I 0.99, ACD-C 1.10
and ACD-G 0.98 (AffineGAN 0.31, 0.29 and 0.39); in its Table 1, users prefer AffineGAN's videos to FGST's 79.7% of
the time.

What FGST is (its abstract and introduction; the paper is not among the book's texts): from one still image, a
*multi-flow prediction* phase predicts the optical flows of several future time steps, "modeled in a variational
probabilistic manner with spatial-temporal relationships learned through 3D convolutions" (a 3D-cVAE: a conditional
VAE with 3-D convolution layers); a *flow-to-frame synthesis* phase, "modeled as a generative process", turns the
flows into frames. "Such a two-phase design prevents the model from directly looking at the high-dimensional pixel
space of the frame sequence." The flows it learns from are estimated from the training videos (by SPyNet, a learned
flow network, says AffineGAN §4.1.2).

The book's model (its reading of the two phases, at the book's widths)::

    F_t    = Farneback(I_t, I0),  t = 1 ... T      the training flows: frame t back to the input, in pixels,
                                                   I_t(x) ~ I0(x + F_t(x))               (:func:`optical_flow`)
    mu, s  = q(I0, F_1:T)                          3D-cVAE recognition: 3-D convolutions of [F, I0] -> z's Gaussian
    z      = mu + s * eps,  eps ~ N(0, I)          the reparameterisation (z = 0, the prior's mean, at generation)
    F^_1:T = p(E(I0), z)                           3D-cVAE decoder: 3-D transposed convolutions from the input's
                                                   4 x 4 code and z, the input's features joined at every scale
    W_t    = warp(I0, F_t)                         backward warping by bilinear sampling         (:func:`warp`)
    R_t, m_t = G([I0, W_t, F_t])                   a U-Net per frame: an image and an occlusion mask in [0, 1]
    I^_t   = m_t * W_t + (1 - m_t) * R_t           what warping cannot give (teeth, folds, eyelids) comes from R_t

and its losses::

    flow   |F^ - F|_1                              the 3D-cVAE's reconstruction of the training flows (in pixels)
    kl     KL(N(mu, s^2) || N(0, I))               the 3D-cVAE's prior term (summed over z, averaged over clips)
    rec    |I^_t - I_t|_1                          the synthesis, against the true frames
    gan    -log D([I0, I^_1:T])                    a 3-D critic on whole clips (the book's, as its VGAN's)

The paper's setting and the book's:

========================  ==============================================  =============================================
                          FGST (as AffineGAN §4.1 ran it)                  the book
========================  ==============================================  =============================================
training flows            SPyNet, a learned flow network                  OpenCV's Farneback (:data:`FARNEBACK`), a
                                                                          maintained classical estimator, on grey
                                                                          frames: no learned flow network ships here
frames                    9 per clip (AffineGAN §4.1.1)                   the input and ``length`` = 8 after it
multi-flow prediction     a 3D-cVAE                                       a small 3D-cVAE, z of ``z_dim`` = 16 values
flow-to-frame synthesis   "a generative process" (FGST's abstract)        warp + a 2-D U-Net with an occlusion mask per
                                                                          frame, and a 3-D critic on the clip
training                  its schedule: not in the book's texts           both phases side by side in one run, each
                                                                          from the estimated flows
models                    AffineGAN does not say                          one per expression, as the other baselines
========================  ==============================================  =============================================

Everything in the right column that FGST's abstract does not state is the book's reading: that each flow maps a
future frame back to the input (so that warping the input gives the frame), the occlusion mask, the per-frame U-Net,
the critic, the loss weights. Training the synthesis on the estimated flows, not the predicted ones, keeps the
phases apart as FGST's two-phase design does: ``flow`` and ``kl`` reach the 3D-cVAE only, ``rec`` and ``gan`` the
synthesis only, so the weights of the two pairs are never traded against each other.

The flows come from Farneback's algorithm where AffineGAN's came from SPyNet: the estimator differs from the
paper's, and its flows are smooth (the window averages 15 x 15 pixels). On the benchmark they recover the face's
geometry but not what geometry cannot give (teeth, folds, eyelids), which is the occlusion mask's and R_t's share.
They are computed per batch (about a millisecond a flow at 64 px on one core), so nothing is cached.

Generation: z = 0, so a face has one clip (the one API renders one clip per face, and the ONNX graph is a function of
the face alone). :class:`Model` renders the ``length`` frames after the input, at a = 1/length, ..., 1
(:attr:`~Model.supported_intensities`), like the VGAN baseline.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from .. import api, losses
from ..data.clips import from_tensor
from ..errors import I2VError
from ..nn import UNetDecoder, UNetEncoder, init_weights, norm_3d, unet_levels
from .frgan_parts import VideoCritic, levels
from .gan import GANTrainer
from .vgan import positions

NAME = "fgst"
LENGTH = 8          # frames after the input: AffineGAN's 9-frame clips
Z_DIM = 16          # the 3D-cVAE's latent code

# cv2.calcOpticalFlowFarneback's parameters: the values of OpenCV's optical-flow tutorial.
FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
             "flags": 0}

STATED = {"length": "AffineGAN §4.1.1: 9 frames sampled or up-sampled per clip for FGST (the input and 8 after it)"}
UNSTATED = {
    "z_dim": "16, the book's: the 3D-cVAE's code size is not in the book's texts",
    "weights": "the book's: flow 1 and kl 0.01 for the 3D-cVAE, rec 10 and gan 1 for the synthesis (as its VGAN's "
               "r = 10); the two pairs train different networks",
    "expressions": "one model per expression, as the book's other baselines (AffineGAN does not say)",
    "image_size": "256 px, AffineGAN's", "batch": "16 clips, the paper profile's", "lr": "0.0002, the paper profile's",
    "steps": "AffineGAN's 40k", "ngf": "64, the book's paper width", "ndf": "64, the book's paper width",
    "videos": "200 per expression, as the other methods'",
}


def optical_flow(frames: np.ndarray, reference: np.ndarray) -> np.ndarray:
    """The dense optical flow from each of ``frames`` (T x H x W x 3 uint8) back to ``reference`` (H x W x 3 uint8),
    by OpenCV's Farneback algorithm (:data:`FARNEBACK`) on grey frames: (T, 2, H, W) float32 in pixels, (x, y), with
    ``frames[t](p) ~ reference(p + flow[t](p))``, what :func:`warp` takes to move ``reference`` onto frame t."""
    try:
        import cv2
    except ImportError:
        raise I2VError("FGST's training flows need OpenCV: pip install 'i2vlib[flow]'") from None
    ref = cv2.cvtColor(np.ascontiguousarray(reference), cv2.COLOR_RGB2GRAY)
    flows = [cv2.calcOpticalFlowFarneback(cv2.cvtColor(np.ascontiguousarray(f), cv2.COLOR_RGB2GRAY), ref, None,
                                          **FARNEBACK) for f in frames]
    return np.stack(flows).transpose(0, 3, 1, 2)


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warping: ``out(p) = image(p + flow(p))`` by bilinear sampling (``grid_sample``), image (N, C, H, W),
    flow (N, 2, H, W) in pixels (x, y); beyond the border the nearest border pixel."""
    h, w = image.shape[-2:]
    ys, xs = torch.meshgrid(torch.arange(h, device=image.device, dtype=flow.dtype),
                            torch.arange(w, device=image.device, dtype=flow.dtype), indexing="ij")
    grid = torch.stack([(xs + flow[:, 0]) * (2 / (w - 1)) - 1, (ys + flow[:, 1]) * (2 / (h - 1)) - 1], -1)
    return F.grid_sample(image, grid.to(image.dtype), mode="bilinear", padding_mode="border", align_corners=True)


def kl_divergence(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)) = 1/2 sum_j (mu_j^2 + s_j^2 - 1 - log s_j^2), averaged over the batch."""
    mu, logvar = mu.float(), logvar.float()
    return 0.5 * (mu ** 2 + logvar.exp() - 1 - logvar).sum(1).mean()


class MultiFlowCVAE(nn.Module):
    """Phase 1, the 3D-cVAE: I0 (N, 3, S, S) and z (N, z_dim) -> the flows F^_1:T (N, T, 2, S, S) in pixels;
    :meth:`posterior` is its recognition network q(z | I0, F), used in training only."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        self.length, self.z_dim = int(cfg["length"]), int(cfg["z_dim"])
        n = levels(size)                                              # stride-2 levels from S to 4 x 4
        ch = [ngf * min(2 ** i, 8) for i in range(n)]
        down = lambda a, b: nn.Conv3d(a, b, (3, 4, 4), (1, 2, 2), 1)  # noqa: E731  halves space, keeps time
        up = lambda a, b: nn.ConvTranspose3d(a, b, (3, 4, 4), (1, 2, 2), 1)  # noqa: E731
        q, prev = [], 2 + 3                                           # q sees [F_t, I0] at every step
        for i, c in enumerate(ch):
            q += [down(prev, c), *([norm_3d(norm, c)] if i else []), nn.LeakyReLU(0.2, inplace=True)]
            prev = c
        self.q = nn.Sequential(*q, nn.Conv3d(prev, 2 * self.z_dim, (self.length, 4, 4)))   # -> (mu, log s^2)
        self.image = UNetEncoder(3, ngf, n, norm)                     # E(I0): features at S/2 ... 4 x 4
        self.layout = nn.Sequential(nn.ConvTranspose3d(ch[-1] + self.z_dim, ch[-1], (self.length, 1, 1)),
                                    norm_3d(norm, ch[-1]), nn.ReLU(inplace=True))   # time laid out at 4 x 4
        self.ups = nn.ModuleList(nn.Sequential(up(ch[k + 1] * (1 if k == n - 2 else 2), ch[k]), norm_3d(norm, ch[k]),
                                               nn.ReLU(inplace=True)) for k in range(n - 2, -1, -1))
        self.out = up(2 * ch[0], 2)                                   # linear: flows in pixels

    def posterior(self, i0: torch.Tensor, flows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """q(z | I0, F): (mu, log s^2), each (N, z_dim), from the flows (N, T, 2, S, S) and the input."""
        x = torch.cat([flows.transpose(1, 2), i0[:, :, None].expand(-1, -1, flows.shape[1], -1, -1)], 1)
        return self.q(x).flatten(1).chunk(2, 1)

    def forward(self, i0: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        """p(F | I0, z): the flows (N, T, 2, S, S); z omitted: 0, the prior's mean."""
        feats = self.image(i0)
        if z is None:
            z = i0.new_zeros(len(i0), self.z_dim)
        h = feats[-1]
        x = self.layout(torch.cat([h, z[:, :, None, None].expand(-1, -1, *h.shape[2:])], 1)[:, :, None])
        for up, skip in zip(self.ups, feats[-2::-1]):                 # the input's features joined at every scale
            x = up(x)
            x = torch.cat([x, skip[:, :, None].expand(-1, -1, x.shape[2], -1, -1)], 1)
        return self.out(x).transpose(1, 2)


class FlowToFrame(nn.Module):
    """Phase 2: I0 (N, 3, S, S) and flows (N, T, 2, S, S) -> (frames I^, masks m, warped W), each (N, T, ., S, S):
    ``I^_t = m_t W_t + (1 - m_t) R_t``, with (R_t, m_t) from a U-Net of [I0, W_t, F_t], one frame at a time."""

    def __init__(self, cfg: dict):
        super().__init__()
        size, ngf, norm = int(cfg["image_size"]), int(cfg["ngf"]), cfg["norm"]
        n = unet_levels(size)
        self.encoder, self.decoder = UNetEncoder(3 + 3 + 2, ngf, n, norm), UNetDecoder(3 + 1, ngf, n, norm)

    def forward(self, i0: torch.Tensor, flows: torch.Tensor):
        n, t = flows.shape[:2]
        x = i0[:, None].expand(-1, t, -1, -1, -1).flatten(0, 1)
        f = flows.flatten(0, 1)
        w = warp(x, f)                                                # W_t = warp(I0, F_t)
        y = self.decoder(self.encoder(torch.cat([x, w, f.to(x.dtype)], 1)))
        r, m = y[:, :3], (y[:, 3:] + 1) / 2                           # R_t in [-1, 1], m_t in [0, 1]
        frames = m * w + (1 - m) * r
        return tuple(v.unflatten(0, (n, t)) for v in (frames, m, w))


class FGSTGenerator(nn.Module):
    """I0 (N, 3, S, S) -> the ``length`` frames after it (N, length, 3, S, S) in [-1, 1]: the flows the 3D-cVAE
    predicts at z (0 if omitted), rendered by the flow-to-frame synthesis."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.length = int(cfg["length"])
        self.predictor, self.renderer = MultiFlowCVAE(cfg), FlowToFrame(cfg)
        init_weights(self)

    def forward(self, i0: torch.Tensor, z: torch.Tensor | None = None) -> torch.Tensor:
        return self.renderer(i0, self.predictor(i0, z))[0]


class Trainer(GANTrainer):
    """FGST's networks, batches (clips of 1 + ``length`` frames, their Farneback flows, the cVAE's noise) and loss
    terms."""

    name = NAME
    options = {"length": LENGTH, "z_dim": Z_DIM, "weights": {"flow": 1.0, "kl": 0.01, "rec": 10.0, "gan": 1.0}}
    profile_changes = {"smoke": {"batch": 2, "frames": [9, 12]},
                       "book": {"steps": 1000, "batch": 4, "frames": [9, 16]},
                       "paper": {"frames": [9, 32], "steps": 40000}}
    critics = ("d_video",)
    d_losses = {"d_v": ("gan", "the cross-entropy GAN loss of the 3-D critic D on [I0, I_1:T] against [I0, I^_1:T]")}
    g_losses = {"g_v": ("gan", "-log D([I0, I^_1:T]): the synthesised clip should look real (the book's critic)"),
                "rec": ("rec", "|I^_t - I_t|_1: flow-to-frame synthesis against the true frames"),
                "flow": ("flow", "|F^ - F|_1: the 3D-cVAE's reconstruction of the Farneback flows, in pixels"),
                "kl": ("kl", "KL(q(z | I0, F) || N(0, I)): the 3D-cVAE's prior term")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"FGST is one model per expression here, as the book's other baselines; got "
                           f"{len(cfg['expressions'])} ({', '.join(cfg['expressions'])}): train one run per expression")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"FGST learns clips of 1 + {cfg['length']} frames (AffineGAN §4.1.1: 9 frames per clip); "
                           f"training clips need at least {cfg['length'] + 1} frames, got frames={list(cfg['frames'])}")
        z = cfg["z_dim"]
        if isinstance(z, bool) or not isinstance(z, int) or not 1 <= z <= 512:
            raise I2VError(f"fgst option z_dim (the 3D-cVAE's code size) must be an integer in [1, 512], got {z!r}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        return {"generator": FGSTGenerator(self.cfg),
                "d_video": VideoCritic(3, self.cfg["ndf"], self.cfg["image_size"], 1 + self.cfg["length"])}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames (the input first), the Farneback flow of each
        frame back to the input (``flow``, (N, T, 2, S, S)) and the cVAE's noise eps (N, z_dim)."""
        n = self.cfg["batch"]
        b = self.sampler().clips(rng, n, self.cfg["length"] + 1)
        frames, neutral = from_tensor(b["target"]), from_tensor(b["neutral"])
        flow = torch.from_numpy(np.stack([optical_flow(f, r) for f, r in zip(frames, neutral)]))
        eps = torch.from_numpy(rng.standard_normal((n, self.cfg["z_dim"])).astype(np.float32))
        return {**b, "video": torch.cat([b["neutral"][:, None], b["target"]], 1), "flow": flow, "eps": eps}

    def forward(self, b: dict) -> dict:
        g = self.nets["generator"]
        mu, logvar = g.predictor.posterior(b["neutral"], b["flow"])
        z = mu + (0.5 * logvar).exp() * b["eps"]                      # the reparameterisation
        fake, mask, _ = g.renderer(b["neutral"], b["flow"])           # synthesis from the estimated flows
        return {"flow": g.predictor(b["neutral"], z), "mu": mu, "logvar": logvar, "fake": fake, "mask": mask}

    def _d(self, i0: torch.Tensor, frames: torch.Tensor) -> torch.Tensor:
        """D's logit of the input followed by ``frames`` (N, T, 3, S, S), as (N, 1)."""
        return self.nets["d_video"](torch.cat([i0[:, None], frames], 1).transpose(1, 2))[:, None]

    def d_terms(self, b: dict, out: dict) -> dict:
        return {"d_v": lambda: losses.gan_d(self._d(b["neutral"], b["target"]),
                                            self._d(b["neutral"], out["fake"].detach()))}

    def g_terms(self, b: dict, out: dict) -> dict:
        return {"g_v": lambda: losses.gan_g(self._d(b["neutral"], out["fake"])),
                "rec": lambda: losses.l1(out["fake"], b["target"]),
                "flow": lambda: losses.l1(out["flow"], b["flow"]),
                "kl": lambda: kl_divergence(out["mu"], out["logvar"])}


default_config = Trainer.default_config


class Model(api.ClipModel):
    """A trained FGST behind :class:`i2vlib.api.Model`: the ``length`` frames after the input, a = 1/length ... 1."""

    method = NAME
    network = FGSTGenerator
    single_reason = "FGST is one model per expression: it"
    clip_source = "AffineGAN §4.1.1: 9 frames, the input first"

    def __init__(self, net: FGSTGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.length))
