"""GANimation (Pumarola et al., ECCV 2018), the action-unit baseline of AffineGAN's Table 2, as its authors' public
code builds and trains it (github.com/albertpumarola/GANimation).

AffineGAN §4.1.1: "In order to apply GANimation to our setting of video prediction from a single image, we
pre-process the videos in the following way. We first align the faces and then extract their AUs via OpenFace.
Furthermore, in the prediction stage, we select the most expressive AU from the training set as the label map of
each target expression." It found GANimation "most comparable to ours, but the facial change is within a much
smaller range (e.g., the teeth cannot be observed)", and its low ACD-C "because it predicts almost constant frames".

The model (GANimation §4.1): one generator for every expression, conditioned on a vector y of K action-unit
activations, replicated over the image as K planes beside it::

    A, C    = G(I_{y_o} | y_f)                 attention mask A (N, 1, S, S) in [0, 1], colour mask C in [-1, 1]
    I_{y_f} = (1 - A) * C + A * I_{y_o}        A = 1 keeps the input pixel, A = 0 paints C

G is the code's encoder-decoder (``generator_wasserstein_gan.py``): a 7x7 convolution to ``ngf`` channels, two
4x4 stride-2 convolutions, ``blocks`` residual blocks, two 4x4 stride-2 transposed convolutions, every one followed
by affine instance normalisation and ReLU and none with a bias, then two bias-free 7x7 heads, C (tanh) and A
(sigmoid). The critic (``discriminator_wasserstein_gan.py``) has no normalisation: 4x4 stride-2 convolutions from
``ndf`` channels, doubling, each followed by LeakyReLU(0.01), down to a map of side 2 (six at 128 px, the code's,
so five at the book's 64 px: :func:`critic_layers`), and two bias-free heads on that map: D_I, a 3x3 convolution
giving a 2x2 map of WGAN scores, and D_y, a convolution whose kernel is the whole 2x2 map, a *global* regression
of the K action units of the image. The losses (§4.2 by their names there, as ``models/ganimation.py`` computes
them), with the ``weights`` keys on the right::

    L_I   = E[D_I(G(I_{y_o}|y_f))] - E[D_I(I_{y_o})] + lambda_gp E[(||grad D_I(I~)||_2 - 1)^2]   d_i, g_i, gp
    L_y   = ||D_y(G(I_{y_o}|y_f)) - y_f||^2 (G)   +   ||D_y(I_{y_o}) - y_o||^2 (critic, real images)    g_y, d_y
    L_A   = lambda_A (mean(A) + mean(A')) + lambda_TV (TV(A) + TV(A')),  A' the cycle's mask              a, tv
    L_idt = E||G(G(I_{y_o}|y_f) | y_o) - I_{y_o}||_1           the cycle ("identity") loss                   idt
    L     = L_I + lambda_y L_y + L_A + lambda_idt L_idt

**The AU loss's scale.** The code multiplies lambda_y = 4000 by ``MSELoss()(D_y, y) / B``: the squared error
summed over the batch and the K units, divided by B K and again by B. ``d_y`` and ``g_y`` are logged as the squared
distance ||.||_2^2 per image, averaged over the batch (:func:`regression`), the scale the health check compares
with always answering the mean AU vector (:func:`mean_au_loss`); :meth:`Trainer.weight` applies lambda_y / (B K) to
it, which is the code's term exactly (9.4 at the code's B = 25 and 17 units).

**The schedule** (``options/train_options.py``, ``train.py``). Every iteration draws a new batch; the critic takes
one step on it (L_I without the penalty, plus lambda_y L_y), then a second Adam step on the penalty alone; every
fifth iteration (``train_G_every_n_iterations``) the generator then takes one step on that iteration's batch. Here
one training step (the ``steps`` of a config) is one generator step: :meth:`Trainer.sample` draws ``critic_steps``
batches of ``batch`` images, the critic learns on each in turn (two Adam steps each, :meth:`Trainer._update`)
against G's images of it, and G learns on the last. Adam (lr 1e-4, betas 0.5 and 0.999) for both; the rate is
constant for 20 epochs and decays linearly to 0 over 10 more (``decay_from`` = 2/3).

**The data** (``data/dataset_aus.py``): an image I_{y_o} drawn at random with its AUs y_o (OpenFace's intensities,
/5); y_f the AUs of another random training image plus uniform noise in [-0.1, 0.1] per unit. The critic's real
images are the inputs I_{y_o}, with y_o. Here I_{y_o} is a random frame of a random training video with its exact
AUs, and y_f the exact AUs of a random frame of another random training video, plus the same noise.

**Sign conventions.** A = 1 keeps the input (the code's composition ``mask * real + (1 - mask) * colour``). L_A
therefore pulls A towards 0, towards painting C, *away* from keeping the input: the paper's reason is that "the
attention mask A can easily saturate to 1", which makes G(I_{y_o}|y_f) = I_{y_o}, a generator with no effect that
the cycle loss alone would reward. L_I and L_y are what ask for change: with a critic that reads the AUs, copying
the input costs lambda_y ||y_o - y_f||^2.

``attention``: ``"code"`` (default) computes L_A as the public code does: the mean of A, and
``sum |A_{i+1,j} - A_ij| + |A_{i,j+1} - A_ij|`` over the whole batch for TV; ``"paper"`` as printed, ||A||_2 and the
sum of squared steps per image, averaged over the batch. Either way ``a`` = lambda_A = 0.1 and ``tv`` =
lambda_A lambda_TV = 1e-5. The printed ||A||_2 is not the code's: its gradient A / ||A||_2 has length 1 whatever
the scale of A, S times the mean's (S the image's side), so at the weight tuned for the mean it pulls A to 0
everywhere. GANimation's issue threads report both saturations (albertpumarola/GANimation #9, #112).

Where this module departs from the authors' code, and why (the book profile's own departures last):

======================  ===================================  ===================================================
                        the authors' code                    this module
======================  ===================================  ===================================================
y                       17 OpenFace AU intensities /5,       the benchmark's K = 14 action units
                        measured on the faces                (:data:`~i2vlib.data.face_shape.ACTIONS`), *exact*:
                                                             the book has no AU detector, and the benchmark
                                                             draws every frame from them
training images         any face of the data set             any frame of a training video of the config's
                                                             expressions (a random frame of a random video)
flip                    random horizontal flips              none (``augment`` is refused): the exact AUs
                                                             describe the frame as drawn, and a flip moves
                                                             contempt's one-sided smirk to the other side
y_f at generation       (AffineGAN: "the most expressive     y_f(e, a) = the benchmark's AUs of expression e at
                        AU from the training set")           a for its typical person (below)
generator steps         also on every iteration that draws   only every ``critic_steps``-th: the extra steps
                        the visuals (every 300 s)            are a side effect of logging, not of the method
lr decay                by epoch (10 steps down)             linear in steps over the last third
paper profile           128 px, ngf = ndf = 64, batch 25,    the same; 40000 generator steps (AffineGAN's; the
                        30 epochs of its data set            code counts epochs of a data set we do not have)
book profile: size      128 px                               64 px (the book's size): the critic has 5
                                                             stride-2 layers, its last map 2x2 as the code's
book profile: widths    ngf = ndf = 64, batch 25             ngf = 16, ndf = 32, batch 8, for one CPU core: 145
                                                             CPU s per 100 generator steps (ndf = 64 alone makes
                                                             a step 4x as long)
book profile: steps     30 epochs of its data set            2000 generator steps (the Baselines chapter's arm:
                                                             1000, AffineGAN's budget)
======================  ===================================  ===================================================

The book profile keeps the authors' schedule: 5 critic steps per generator step, each on its own batch, lr 1e-4
(not the 5x the book profile gives the other methods), betas (0.5, 0.999), the last third decayed, and every loss
weight.

**An oracle input.** The benchmark draws every frame from exact action-unit strengths
(:func:`i2vlib.data.synthetic.actions`: each expression a recipe of AUs, scaled by the person's gain and response
curve), and training conditions G on those strengths. No other method of the book is given them: AffineGAN and Fan
et al. learn from the frames (and an intensity label), FRGAN from landmarks (the AUs' geometry, not what they
paint: teeth, lids, lines), and AffineGAN's GANimation from AUs that OpenFace *measured*, with its errors and gaps
(AffineGAN §4.1.2: it "relies on AUs extracted by Openface which, however, does not compute the AUs for eyes
movements"). Real folders of videos carry no AUs, so ``data`` must be ``synthetic``. ``au_source="fitted"`` undoes
the departure in training (the controlled check of :data:`i2vlib.records.ablations.DEPARTURE_CHECKS`): y_o and y_f are
the units the shipped fitter reads off each training frame against its video's neutral first frame
(:mod:`i2vlib.instruments.fitter`, 0.014 mean error per unit on held-out faces), those OpenFace does not report
(:data:`NOT_IN_OPENFACE`) at 0; generation is unchanged.

**Generation** (the one API): ``generate(image, intensities, expression=e)`` renders frame t from
y_f = ``actions(TYPICAL, {e: a_t})``, the benchmark's own function for the benchmark's typical person: gain 1 on
every action unit (the centre of the identities' 0.75-1.25) and a linear response r(a) = a. The input's identity is
unknown at generation, so its own gain and response curve cannot be used. a = 0 gives the neutral AUs (all 0); a
mix ``{e1: [...], e2: [...]}`` sums the recipes, as the benchmark does. :meth:`GANimationGenerator.aus` holds this
map in tensors (exact: for a linear responder ``actions`` is piecewise linear in a, with its corners at the
recipes' onsets and saturations, which are its knots), so a model exports to ONNX with the intensity sliders of
the other methods.

This module holds the method: its options, batches, schedule, :class:`Trainer` and :class:`Model`. Its building
blocks are in :mod:`.ganimation_parts`, where the functions and networks this docstring names without a module live
(the action-unit vectors, G, D, :func:`critic_layers`, :func:`regression` and L_A).
"""

from __future__ import annotations

import functools
import itertools
import json

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..clip_record import EXPRESSIONS
from ..data.clips import normalise, to_pixels, to_tensor
from ..data.face_shape import ACTIONS
from ..errors import I2VError
from ..instruments.fitter import get_fitter
from . import full_config
from .gan import GANTrainer
from .ganimation_parts import (K, GANimationCritic, GANimationGenerator, attention_loss, blend, frame_aus,
                               regression)

NAME = "ganimation"
AU_NOISE = 0.1               # dataset_aus.py: y_f = another image's AUs + U(-0.1, 0.1) per unit
# The benchmark's units OpenFace does not report (its 17 intensities lack AU34, AU38, AU43 and gaze; AffineGAN
# §4.1.2: it "does not compute the AUs for eyes movements"): au_source="fitted" trains with them at 0.
NOT_IN_OPENFACE = ("eye_close", "gaze_up", "nostril_flare", "cheek_puff")

STATED = {"image_size": "GANimation: 128 x 128 faces", "batch": "GANimation: 25 (launch/run_train.sh)",
          "lr": "GANimation: Adam, 0.0001 for G and D", "betas": "GANimation: beta1 0.5, beta2 0.999",
          "decay_from": "GANimation: 30 epochs, the rate decayed linearly to 0 over the last 10",
          "critic_steps": "GANimation: one generator step every 5 critic steps (train_G_every_n_iterations)",
          "weights.i": "GANimation: lambda_D_prob = 1", "weights.gp": "GANimation: lambda_gp = 10",
          "weights.y": "GANimation: lambda_y = 4000, on the mean squared error (over batch and AUs) / the batch",
          "weights.a": "GANimation: lambda_A = 0.1", "weights.tv": "GANimation: lambda_A lambda_TV = 0.1 x 0.0001",
          "weights.idt": "GANimation: lambda_idt = 10",
          "expressions": "GANimation: one model for every expression (conditioned on AUs, not on labels)"}
UNSTATED = {
    "steps": "40000, AffineGAN's (it does not say how long it trained GANimation; the code counts epochs)",
    "blocks": "6, the public code's (the paper builds G on Johnson et al.'s residual network)",
    "ngf": "64, the public code's", "ndf": "64, the public code's",
    "videos": "200 per expression, as the other methods'",
}


@functools.lru_cache(maxsize=32)
def _mean_au_loss(config_json: str, pairs: int) -> float:
    cfg = json.loads(config_json)
    trainer = Trainer({**cfg, "batch": 1, "critic_steps": 1})
    rng = np.random.default_rng([int(cfg["seed"]), 0xA0])
    y = np.stack([trainer.sample(rng)["y_o"][0].numpy() for _ in range(pairs)]).astype(np.float64)
    return float(((y - y.mean(0)) ** 2).sum(1).mean())


def mean_au_loss(config: dict, pairs: int = 400) -> float:
    """What :func:`regression` scores for a critic that always answers the mean AU vector: the mean squared distance
    of the AUs y_o of the critic's real images from their mean, over ``pairs`` images drawn as training draws them,
    from the training videos of seed 0 (the spread of the AUs does not depend on which identities a seed draws); the
    yardstick of the health check that asks whether D_y learns (:mod:`i2vlib.claims.health`)."""
    cfg = full_config({**config, "method": NAME})
    data = {k: cfg[k] for k in ("data", "image_size", "expressions", "train_curves", "videos", "frames", "jitter")}
    return _mean_au_loss(json.dumps({**default_config("book", **data), "seed": 0}, sort_keys=True), pairs)


class Trainer(GANTrainer):
    """GANimation's generator, its two-headed critic, its batches (images with exact AUs, and the AUs asked for)
    and its loss terms, on the code's schedule."""

    name = NAME
    options = {"expressions": list(EXPRESSIONS), "blocks": 6, "attention": "code", "au_source": "exact",
               "critic_steps": 5, "lr": 1e-4, "decay_from": 2 / 3,
               "weights": {"i": 1.0, "gp": 10.0, "y": 4000.0, "a": 0.1, "tv": 1e-5, "idt": 10.0}}
    choices = {"attention": ("code", "paper"), "au_source": ("exact", "fitted")}
    profile_changes = {"smoke": {"blocks": 1, "videos": 2, "critic_steps": 2},
                       "book": {"steps": 2000, "batch": 8, "ngf": 16, "ndf": 32},
                       "paper": {"image_size": 128, "batch": 25, "steps": 40000}}
    critics = ("critic",)
    d_losses = {"d_i": ("i", "L_I: D_I(G(I_yo|y_f)) - D_I(I_yo)"),
                "d_y": ("y", "L_y: ||D_y(I_yo) - y_o||_2^2 on real images"),
                "gp": ("gp", "L_I: (||grad D_I(I~)||_2 - 1)^2, WGAN-GP (its own Adam step)")}
    g_losses = {"g_i": ("i", "L_I: -D_I(G(I_yo|y_f))"),
                "g_y": ("y", "L_y: ||D_y(G(I_yo|y_f)) - y_f||_2^2"),
                "a": ("a", "L_A: mean of A (the code; ||A||_2 as printed), both masks"),
                "tv": ("tv", "L_A: total variation of A, both masks"),
                "idt": ("idt", "L_idt: ||G(G(I_yo|y_f)|y_o) - I_yo||_1")}
    monitors = ("A_mean",)

    @classmethod
    def check(cls, cfg: dict) -> dict:
        if cfg["data"] != "synthetic":
            raise I2VError(f"ganimation is conditioned on action units, which only the synthetic benchmark knows "
                           f"(it draws every frame from them); {cfg['data']} has none: train it with data=synthetic")
        if cfg["augment"]:
            raise I2VError("ganimation's action units describe the benchmark's frames as drawn; augment's mirror "
                           "flip moves contempt's one-sided smirk to the other side: train it with augment=false")
        b = cfg["blocks"]
        if isinstance(b, bool) or not isinstance(b, int) or not 0 <= b <= 32:
            raise I2VError(f"ganimation option blocks={b!r} must be an integer from 0 to 32 (the generator's "
                           "residual blocks; the paper's 6)")
        return cfg

    def weight(self, key: str) -> float:
        """The config's weight of ``key``; lambda_y over B K, which makes the per-image ||.||^2 of
        :func:`regression` the code's ``lambda_y MSELoss(D_y, y) / B``."""
        w = super().weight(key)
        return w / (int(self.cfg["batch"]) * K) if key == "y" else w

    def build(self) -> dict[str, nn.Module]:
        return {"generator": GANimationGenerator(self.cfg),
                "critic": GANimationCritic(int(self.cfg["image_size"]), int(self.cfg["ndf"]))}

    def sample(self, rng: np.random.Generator) -> dict:
        """``critic_steps`` batches of ``batch`` images, one after the other: ``real`` I_{y_o}, a random frame of
        a random training video, with its exact AUs ``y_o``, and ``y_f``, the exact AUs of a random frame of
        another random video plus U(-0.1, 0.1) per unit (``dataset_aus.py``)."""
        rows = {k: [] for k in ("real", "y_o", "y_f")}
        for _ in range(int(self.cfg["critic_steps"]) * int(self.cfg["batch"])):
            clip = self.sampler().clip(rng)
            t = int(rng.integers(len(clip)))
            rows["real"].append(to_tensor(clip.frames[t]))
            rows["y_o"].append(torch.from_numpy(self.units(clip, t)))
            other = self.sampler().clip(rng)
            wanted = self.units(other, int(rng.integers(len(other)))) + rng.uniform(-AU_NOISE, AU_NOISE, K)
            rows["y_f"].append(torch.from_numpy(wanted.astype(np.float32)))
        return {k: torch.stack(v) for k, v in rows.items()}

    def units(self, clip, t: int) -> np.ndarray:
        """y of frame ``t`` of a training clip: exact (:func:`frame_aus`), or with ``au_source="fitted"`` as a
        detector reads it, as the authors' data were made: the shipped fitter's units of the frame against the
        clip's first (neutral) frame (:mod:`i2vlib.instruments.fitter`), :data:`NOT_IN_OPENFACE` at 0; fitted once
        per training video."""
        if self.cfg["au_source"] == "exact":
            return frame_aus(clip, t)
        cache = self.__dict__.setdefault("_fitted", {})
        if clip.video_id not in cache:
            y = get_fitter().fit(clip.frames).astype(np.float32)
            y[:, [ACTIONS.index(u) for u in NOT_IN_OPENFACE]] = 0.0
            cache[clip.video_id] = y
        return cache[clip.video_id][t]

    def rounds(self, batch: dict) -> list[slice]:
        """The rows of each critic step's batch; the generator learns on the last."""
        n = len(batch["real"]) // int(self.cfg["critic_steps"])
        return [slice(i * n, (i + 1) * n) for i in range(int(self.cfg["critic_steps"]))]

    def forward(self, b: dict) -> dict:
        G, rounds = self.nets["generator"], self.rounds(b)
        g = rounds[-1]
        image = b["real"][g]
        A, C = G.masks(image, b["y_f"][g])
        fake = blend(A, C, image)                                       # I_{y_f} = G(I_{y_o} | y_f)
        with torch.no_grad():                                           # the earlier critic steps' fakes: same G
            earlier = b["real"][:g.start]
            before = G(earlier, b["y_f"][:g.start]) if len(earlier) else fake[:0]
        out = {"A": A, "fake": fake, "critic_fakes": torch.cat([before.detach(), fake.detach()]),
               "round": itertools.count()}
        if self.uses("idt") or self.uses("a") or self.uses("tv"):
            A2, C2 = G.masks(fake, b["y_o"][g])                          # the cycle: G(I_{y_f} | y_o)
            out.update(A_cycle=A2, cycle=blend(A2, C2, fake))
        return out

    def _critic(self, x: torch.Tensor):
        """D_I(x) and D_y(x) from one pass through the shared trunk, computed once."""
        return functools.cache(lambda: self.nets["critic"].both(x))

    def d_terms(self, b: dict, out: dict) -> dict:
        """The terms of the next critic step (the base calls this once per step, in order): its batch's real
        images and G's images of them."""
        rows = self.rounds(b)[next(out["round"]) % int(self.cfg["critic_steps"])]
        real, fake, D = b["real"][rows], out["critic_fakes"][rows], self.nets["critic"]
        judged = self._critic(real)
        return {"d_i": lambda: losses.wgan_d(judged()[0], D(fake)),
                "d_y": lambda: regression(judged()[1], b["y_o"][rows]),
                "gp": lambda: losses.gradient_penalty(D, real, fake)}

    def _update(self, group: str, declared: dict, terms: dict, stepped: dict) -> dict:
        """As the code: the critic's Adam step on L_I + lambda_y L_y, then a second one on the penalty alone,
        computed on the critic the first step left."""
        if group != "d":
            return super()._update(group, declared, terms, stepped)
        first = {k: v for k, v in declared.items() if k != "gp"}
        return {**super()._update(group, first, terms, stepped),
                **super()._update(group, {"gp": declared["gp"]}, terms, stepped)}

    def g_terms(self, b: dict, out: dict) -> dict:
        g = self.rounds(b)[-1]
        judged, reading = self._critic(out["fake"]), self.cfg["attention"]
        both = functools.cache(lambda: [attention_loss(A, reading) for A in (out["A"], out["A_cycle"])])
        return {"g_i": lambda: losses.wgan_g(judged()[0]),
                "g_y": lambda: regression(judged()[1], b["y_f"][g]),
                "a": lambda: both()[0][0] + both()[1][0],
                "tv": lambda: both()[0][1] + both()[1][1],
                "idt": lambda: losses.l1(out["cycle"], b["real"][g])}

    def monitor(self, b: dict, out: dict) -> dict:
        return {"A_mean": out["A"].detach().float().mean()}


default_config = Trainer.default_config


# ----------------------------------------------------------------------------------------------
# Generation: the one API
# ----------------------------------------------------------------------------------------------
class Model(api.NetworkModel):
    """A trained GANimation behind :class:`i2vlib.api.Model`: frame t is G(I | y_f(a_t)), y_f the benchmark's AUs
    of the typical person (:meth:`aus`); a mix sums the expressions' recipes. No encoder runs apart from the
    generator, so nothing but the image is cached: every frame is one pass of G."""

    method = NAME
    network = GANimationGenerator

    def _intensity_matrix(self, a: dict) -> torch.Tensor:
        """{expression: (T,)} -> (T, E) over the model's expressions, 0 for those not asked for."""
        n = len(next(iter(a.values())))
        cols = [a[e] if e in a else torch.zeros(n, device=self.device) for e in self.expressions]
        return torch.stack(cols, 1)

    def aus(self, intensities, expression: str | None = None) -> np.ndarray:
        """The y_f that ``generate`` conditions each frame on: (T, K), in the order of ``face_shape.ACTIONS``."""
        mix = api.check_intensities(intensities, self.expressions, expression)
        a = {e: torch.as_tensor(v, dtype=torch.float32, device=self.device) for e, v in mix.items()}
        return self.net.aus(self._intensity_matrix(a)).cpu().numpy()

    def masks(self, image, intensities, expression: str | None = None) -> tuple[np.ndarray, np.ndarray]:
        """GANimation's two masks of every frame: A (T, S, S) in [0, 1] and C (T, S, S, 3) uint8."""
        y = torch.from_numpy(self.aus(intensities, expression)).to(self.device)
        with torch.inference_mode():
            A, C = self.net.masks(self.tensor(image).expand(len(y), -1, -1, -1), y)
        return A[:, 0].float().cpu().numpy(), to_pixels(C.float()).cpu().numpy()

    def _encode(self, x, expressions):
        return x

    def _decode(self, x, a):
        y_f = self.net.aus(self._intensity_matrix(a))
        return self.net(x.expand(len(y_f), -1, -1, -1), y_f)

    def onnx_graph(self) -> torch.nn.Module:
        return AUGraph(self.net)


class AUGraph(torch.nn.Module):
    """One frame of :meth:`Model.generate` as one network: the face (uint8 S x S x 3) and one intensity per
    expression of the model -> y_f (the benchmark's AUs, :meth:`GANimationGenerator.aus`) -> G -> the frame."""

    inputs, output = ("face", "intensities"), "frame"

    def __init__(self, net: GANimationGenerator):
        super().__init__()
        self.net = net

    def forward(self, face: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        return to_pixels(self.net(normalise(face)[None], self.net.aus(a[None])))[0]
