"""Hierarchical Prediction (HP; Villegas, Yang, Zou, Sohn, Lin and Lee, ICML 2017), the baseline of Fan et al. §4.1.

Fan et al. (AAAI 2019) §4.1 compare their model with "Hierarchical Prediction (HP) [8] and Convolution-LSTM
(ConvLSTM)", changed to fit one input image: "1) ... we have to fix the length of the video sequence to be
generated. We do so by uniformly sampling 10 frames per video clip. 2) We train a separate model for each target
expression. 3) We replace ... the Visual-Structure in HP with U-Net because the results of their default
architectures works not well." In their Table 1, AMT workers prefer Fan et al.'s videos to HP's 77.3% (happy) and
69.7% (surprise) of the time; §4.2: "As for HP baseline, there is a sudden change between the generate frame and
the initial frame" (:meth:`Model.landmarks` gives the structure that Fig. 3's curve measures).

The model (HP §3; ``p``: the face's 68 landmarks, the high-level structure; ``g(p)``: one Gaussian heat map per
landmark, :func:`i2vlib.instruments.condition.motion_maps`)::

    h_0, c_0 = LSTM(p_0)                                  the LSTM observes the input's structure ...
    h_t, c_t = LSTM(0, h_{t-1}, c_{t-1})                  ... and runs on no input for the future, t = 1 ... 10
    p^_t     = tanh(W h_t)                                the future landmarks, in [-1, 1]
    x^_t     = f_dec(f_img(I_0) + f_pose(g(p^_t)) - f_pose(g(p_0)))      the visual-structure analogy

so that with p^_t = p_0 the frame is f_dec(f_img(I_0)): the input's appearance, moved by the structure's change
alone. The two parts learn apart, each on the true landmarks (HP trains its LSTM and its image generator
separately, and renders from the LSTM's landmarks only at test time)::

    L_pose = mean ||p^_t - p_t||^2                                        the LSTM (on normalised coordinates)
    L_img  = 1/2 mean ||x^_t - x_t||^2,   x^_t from the true p_t          the analogy network (the code's 1/2)
    L_gen  = -log D([x^_t, g(p_t)])
    L_D    = -log D([x_t, g(p_t)]) - 1/2 log(1 - D([x^_t, g(p_t)])) - 1/2 log(1 - D([I_0, g(p_t)]))

D judges whether an image shows the structure beside it: the input with the target's landmarks is a wrong pair.

The paper's setting and the book's:

=================  ==============================================  =============================================
                   HP (Penn Action, Human3.6M; the official code)  the book (Fan et al.'s adaptation)
=================  ==============================================  =============================================
observed           10 poses of 13 joints, from an Hourglass        p_0 alone: the clip's landmarks in training,
                   network                                         the book's instrument's for an input face
predicted          32 (or 64) future poses, then their frames      ``length`` = 10 landmark sets and frames,
                                                                   at a = 0.1, ..., 1.0 (Fan et al. §4.1-4.2)
LSTM               one layer of 1024 units, zero future inputs     the same (:mod:`.pose_lstm`'s structure),
                                                                   the profile's ``hidden`` units
maps g(p)          Gaussians along the limbs                       one Gaussian per landmark (``heatmaps``)
analogy network    VGG-like f_img, f_pose down to S/8; f_dec       a U-Net (Fan et al.'s change): FRGAN's G_M
                   without skips                                   without residual learning, plain decoder
                                                                   (:class:`.frgan_parts.ForecastNet`; FRGAN
                                                                   §4.4: "our network decays to [39]", HP)
losses             L_img + L_feat + L_gen (L_feat: AlexNet pool5   L_img + L_gen (no L_feat: see below)
                   and Hourglass features, weights 1, 1; L_gen 1)
training           LSTM: RMSProp 1e-3, gradients clipped at 25;    one trainer, one Adam for both parts (they
                   images: Adam 1e-4, beta1 0.5, G and D updates   share no weight and no loss: separate
                   skipped by a margin rule                        training side by side); D every step
models             one per data set                                one per expression (Fan et al. §4.1)
=================  ==============================================  =============================================

**No feature loss.** HP's L_feat compares AlexNet (ImageNet) and Hourglass (human pose) features: neither exists
offline here nor fits 64-px faces, and the book's face networks are the instruments its evaluation measures
with, so a loss on them would train on the test. Fan et al. say nothing of HP's losses. Without L_feat the
code's weight 1 on L_gen would outweigh the pixel loss by far; L_gen gets 0.02, the balance of the same
authors' MCNet (:mod:`.mcnet`, beta = 0.02).

Generation: :class:`Model` measures the input's landmarks p_0 (the synthetic instrument for a model trained on
the benchmark, dlib otherwise: HP's Hourglass), unrolls the LSTM and renders the fixed clip of 10 frames after
the input, a = 0.1, ..., 1.0, like the ConvLSTM baseline (:attr:`~Model.supported_intensities`). No ONNX export:
the landmarks come from an instrument outside the networks.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..data.clips import from_tensor, resample, to_tensor
from ..errors import I2VError
from ..instruments.condition import measure_landmarks, motion_maps
from ..nn import patch_critic
from .convlstm import LENGTH, positions
from .frgan_parts import ForecastNet
from .gan import GANTrainer
from .pose_lstm import denormalise, normalise

NAME = "hp"
POINTS = 68
MAPS = "heatmaps"        # g(p): one Gaussian per landmark, as HP draws its joints

STATED = {"length": "Fan et al. §4.1: 10 frames uniformly sampled per video clip",
          "expressions": "Fan et al. §4.1: a separate model for each target expression (and a U-Net for HP's "
                         "Visual-Structure network)",
          "hidden": "HP's official code: one LSTM layer of 1024 units", "ngf": "HP's official code: gf_dim = 64",
          "ndf": "HP's official code: df_dim = 64",
          "lr": "HP's official code: Adam at 0.0001 for the image generator (its LSTM: RMSProp at 0.001)",
          "betas": "HP's official code: beta1 = 0.5", "batch": "HP's official code: 8 (the image generator)",
          "steps": "HP's official code: 100000 iterations of the image generator"}
UNSTATED = {
    "image_size": "256 px, Fan et al.'s (HP's code: 128)",
    "weights": "pose 1 and img 1 (HP's code: its only terms, 1/2 mean squared error); gan 0.02: the code's 1 "
               "balances L_img + L_feat, and without L_feat the book takes its authors' MCNet balance",
    "norm": "instance norm, the book's U-Net's (HP's code: none in the generator, batch norm in D)",
    "d_layers": "3: the book's patch discriminator for HP's DCGAN one",
    "videos": "200 per expression, as Fan et al.'s",
}


# ----------------------------------------------------------------------------------------------
# The networks: the landmark LSTM (HP §3.1) and the visual-structure analogy (HP §3.2, a U-Net)
# ----------------------------------------------------------------------------------------------
class LandmarkLSTM(nn.Module):
    """p_0 (N, 68, 2) in [-1, 1] -> p^_1 ... p^_T (N, T, 68, 2): one LSTM layer that observes p_0 and then runs on
    zero inputs; a linear layer and tanh read each future state out (:class:`.pose_lstm.PoseLSTM`'s structure,
    with one observed step and no visibility flags: every landmark is visible)."""

    def __init__(self, hidden: int, length: int):
        super().__init__()
        self.length = length
        self.lstm = nn.LSTM(2 * POINTS, hidden, batch_first=True)
        self.head = nn.Linear(hidden, 2 * POINTS)

    def forward(self, u0: torch.Tensor) -> torch.Tensor:
        n = len(u0)
        x = torch.cat([u0.reshape(n, 1, 2 * POINTS), u0.new_zeros(n, self.length, 2 * POINTS)], 1)
        h, _ = self.lstm(x)
        return torch.tanh(self.head(h[:, 1:])).view(n, self.length, POINTS, 2)


class HPGenerator(nn.Module):
    """I0 (N, 3, S, S) and its landmarks p_0 (N, 68, 2) in pixels -> the 10 following frames (N, 10, 3, S, S)."""

    def __init__(self, cfg: dict):
        super().__init__()
        self.size, self.length = int(cfg["image_size"]), int(cfg["length"])
        self.lstm = LandmarkLSTM(int(cfg["hidden"]), self.length)
        self.analogy = ForecastNet({**cfg, "residual": "none", "decoder": "plain", "analogy": "bottleneck",
                                    "motion_maps": MAPS})

    def structure(self, p0: torch.Tensor) -> torch.Tensor:
        """The LSTM's future landmarks p^_1 ... p^_T (N, T, 68, 2), in pixels."""
        return denormalise(self.lstm(normalise(p0, self.size)), self.size)

    def draw(self, p: torch.Tensor) -> torch.Tensor:
        """g(p): landmarks (..., 68, 2) in pixels -> heat maps (..., 68, S, S)."""
        return motion_maps(p.reshape(-1, POINTS, 2), self.size, MAPS).view(*p.shape[:-2], POINTS, self.size,
                                                                           self.size)

    def render(self, i0: torch.Tensor, m0: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """x^_t = f_dec(f_img(I_0) + f_pose(g(p_t)) - f_pose(g(p_0))) for maps g(p_t) (N, T, 68, S, S), g(p_0)
        (N, 68, S, S): (N, T, 3, S, S). f_img and f_pose(g(p_0)) run once per input; f_img's skips feed f_dec."""
        net, (n, t) = self.analogy, maps.shape[:2]
        every = lambda fs: [f.repeat_interleave(t, 0) for f in fs]  # noqa: E731
        feats = net.analogy(every(net.f_I(i0)), every(net.motion(m0)), net.motion(maps.flatten(0, 1)))
        return net.decode(feats, None)["frame"].unflatten(0, (n, t))

    def forward(self, i0: torch.Tensor, p0: torch.Tensor) -> torch.Tensor:
        return self.render(i0, self.draw(p0), self.draw(self.structure(p0)))


# ----------------------------------------------------------------------------------------------
# Training: both parts on the true landmarks; the GAN step lives in models.gan, the loop in i2vlib.train
# ----------------------------------------------------------------------------------------------
class Trainer(GANTrainer):
    """HP's networks, batches (clips of 1 + ``length`` frames with their landmarks, Fan et al. §4.1), loss terms."""

    name = NAME
    options = {"length": LENGTH, "hidden": 256, "weights": {"pose": 1.0, "img": 1.0, "gan": 0.02}}
    profile_changes = {"smoke": {"batch": 2, "frames": [11, 12], "hidden": 32},
                       "book": {"steps": 1000, "batch": 2, "frames": [11, 16]},
                       "paper": {"batch": 8, "lr": 1e-4, "steps": 100000, "frames": [11, 32], "hidden": 1024}}
    critics = ("d_pair",)
    d_losses = {"d": ("gan", "L_D: D on [x_t, g(p_t)] against [x^_t, g(p_t)] and the wrong pair [I_0, g(p_t)]")}
    g_losses = {"pose": ("pose", "L_pose: the LSTM's squared error to the true landmarks"),
                "img": ("img", "L_img = 1/2 mean ||x^_t - x_t||^2, rendered from the true landmarks"),
                "gan": ("gan", "L_gen = -log D([x^_t, g(p_t)])")}

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if len(cfg["expressions"]) != 1:
            raise I2VError(f"HP is one model per expression (Fan et al. §4.1); got {len(cfg['expressions'])} "
                           f"({', '.join(cfg['expressions'])}): train one run per expression")
        hidden = cfg["hidden"]
        if isinstance(hidden, bool) or not isinstance(hidden, int) or not 1 <= hidden <= 8192:
            raise I2VError(f"hp option hidden (LSTM units) must be an integer from 1 to 8192, got {hidden!r}")
        if cfg["data"] == "synthetic" and int(cfg["frames"][0]) < cfg["length"] + 1:
            raise I2VError(f"HP learns clips of 1 + {cfg['length']} frames (Fan et al. §4.1: 10 frames sampled per "
                           f"clip); training clips need at least {cfg['length'] + 1} frames, got "
                           f"frames={list(cfg['frames'])}")
        return cfg

    def build(self) -> dict[str, nn.Module]:
        return {"generator": HPGenerator(self.cfg), "d_pair": patch_critic(3 + POINTS, self.cfg)}

    def sample(self, rng: np.random.Generator) -> dict:
        """Random training clips resampled to 1 + ``length`` frames: ``neutral`` I_0, the ``target`` frames and
        the ``landmarks`` of all (N, 1 + T, 68, 2) pixels."""
        clips = [resample(self.sampler().clip(rng), self.cfg["length"] + 1) for _ in range(self.cfg["batch"])]
        for c in clips:
            if c.landmarks is None:
                raise I2VError(f"clip {c.video_id} has no landmarks; HP's LSTM predicts them and its analogy "
                               "network draws them (prepare the folder with i2v prepare)")
        return {"neutral": torch.stack([to_tensor(c.frames[0]) for c in clips]),
                "target": torch.stack([to_tensor(c.frames[1:]) for c in clips]),
                "landmarks": torch.as_tensor(np.stack([c.landmarks for c in clips]), dtype=torch.float32)}

    def forward(self, b: dict) -> dict:
        g, p = self.nets["generator"], b["landmarks"]
        maps = g.draw(p)                                                  # g(p_0), ..., g(p_T)
        return {"structure": g.lstm(normalise(p[:, 0], g.size)), "maps": maps[:, 1:],
                "fake": g.render(b["neutral"], maps[:, 0], maps[:, 1:])}

    def _d(self, frames: torch.Tensor, maps: torch.Tensor) -> torch.Tensor:
        """D's logits for the pairs [frame, g(p)] of (N, T, 3, S, S) frames and (N, T, 68, S, S) maps."""
        return self.nets["d_pair"](torch.cat([frames, maps], 2).flatten(0, 1))

    def d_terms(self, b: dict, out: dict) -> dict:
        def d():
            real = self._d(b["target"], out["maps"])
            wrong = self._d(b["neutral"][:, None].expand_as(b["target"]), out["maps"])
            return 0.5 * (losses.gan_d(real, self._d(out["fake"].detach(), out["maps"])) + losses.gan_d(real, wrong))
        return {"d": d}

    def g_terms(self, b: dict, out: dict) -> dict:
        size = self.nets["generator"].size
        return {"pose": lambda: ((out["structure"] - normalise(b["landmarks"][:, 1:], size)) ** 2).mean(),
                "img": lambda: 0.5 * ((out["fake"] - b["target"]) ** 2).mean(),
                "gan": lambda: losses.gan_g(self._d(out["fake"], out["maps"]))}


default_config = Trainer.default_config


# ----------------------------------------------------------------------------------------------
# Generation: the one API, restricted to the fixed clip; p_0 measured by an instrument
# ----------------------------------------------------------------------------------------------
class Model(api.ClipModel):
    """A trained HP behind :class:`i2vlib.api.Model`: it renders only a = 0.1, ..., 1.0. The input's landmarks
    come from the synthetic instrument (a model trained on the benchmark) or dlib (one trained on a folder)."""

    method = NAME
    network = HPGenerator
    single_reason = "HP is one model per expression (Fan et al. §4.1): it"
    clip_source = "Fan et al. §4.1"
    unexportable = "its LSTM starts from the input face's landmarks, which an instrument outside the networks measures"

    def __init__(self, net: HPGenerator, config: dict, device="cpu"):
        super().__init__(net, config, device, positions(net.length))
        self.instrument = "synthetic" if config["data"] == "synthetic" else "dlib"

    def _encode(self, x, expressions):
        p0 = torch.as_tensor(measure_landmarks(from_tensor(x), self.instrument), dtype=torch.float32, device=x.device)
        p = self.net.structure(p0)
        return {"p0": p0[0], "structure": p[0], "clip": self.net.render(x, self.net.draw(p0), self.net.draw(p))[0]}

    def _decode_clip(self, feats, a):
        return super()._decode_clip(feats["clip"], a)

    def landmarks(self, image) -> np.ndarray:
        """The structure HP renders ``image`` from: the measured p_0, then the LSTM's p^_1 ... p^_T, as
        (1 + T, 68, 2) pixels (Fan et al.'s Fig. 3 plots each frame's distance to the first)."""
        f = self.features(image, self.expressions)
        return torch.cat([f["p0"][None], f["structure"]]).cpu().numpy()

    def onnx_graph(self) -> torch.nn.Module:
        return api.Model.onnx_graph(self)
