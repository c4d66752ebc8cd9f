"""GANimation (Pumarola et al., ECCV 2018), the action-unit baseline of AffineGAN's Table 2.

AffineGAN §4.1.1: "In order to apply GANimation to our setting of video prediction from a single image, we
pre-process the videos in the following way. We first align the faces and then extract their AUs via OpenFace.
Furthermore, in the prediction stage, we select the most expressive AU from the training set as the label map of
each target expression." It found GANimation "most comparable to ours, but the facial change is within a much
smaller range (e.g., the teeth cannot be observed)", and its low ACD-C "because it predicts almost constant frames".

The model (GANimation §4.1): one generator for every expression, conditioned on a vector y of K action-unit
activations, replicated over the image as K planes beside it::

    A, C    = G(I_{y_o} | y_f)                 attention mask A (N, 1, S, S) in [0, 1], colour mask C in [-1, 1]
    I_{y_f} = (1 - A) * C + A * I_{y_o}        A = 1 keeps the input pixel, A = 0 paints C

and one critic with two heads on a shared trunk: D_I(I), a map of WGAN scores over patches, and D_y(I), the K
action units it reads in I. The losses (§4.2, by their names there), with ``weights`` keys on the right::

    L_I   = E[D_I(G(I_{y_o}|y_f))] - E[D_I(I)] + lambda_gp E[(||grad D_I(I~)||_2 - 1)^2]     d_i, g_i, gp
    L_y   = E||D_y(G(I_{y_o}|y_f)) - y_f||_2^2  (G)   +   E||D_y(I) - y||_2^2  (critic, real I)       g_y, d_y
    L_A   = lambda_TV E[sum_ij (A_{i+1,j} - A_ij)^2 + (A_{i,j+1} - A_ij)^2] + E||A||_2                tv, a
            on both masks: of G(I_{y_o}|y_f) and of the cycle's G(I_{y_f}|y_o)
    L_idt = E||G(G(I_{y_o}|y_f) | y_o) - I_{y_o}||_1           the cycle ("identity") loss             idt
    L     = L_I + lambda_y L_y + lambda_A L_A + lambda_idt L_idt

**Sign conventions.** A = 1 keeps the input (the composition above, as printed). The penalty ||A|| therefore
pulls A towards 0, towards painting C, *away* from keeping the input: the paper's reason is that "the attention
mask A can easily saturate to 1", which makes G(I_{y_o}|y_f) = I_{y_o} (a generator with no effect, which the
cycle loss alone would reward). The TV term keeps A smooth; L_I and L_y are what ask for change.

``attention``: ``"code"`` (default) computes L_A as the public code does, the code AffineGAN could run: the mean
of A for ||A||_2, and ``sum |A_{i+1,j} - A_ij| + |A_{i,j+1} - A_ij|`` over the whole batch for the TV sum;
``"paper"`` as printed, per image, averaged over the batch. Either way ``a`` = lambda_A = 0.1 and ``tv`` =
lambda_A lambda_TV = 1e-5. The printed ||A||_2 is not the code's: its gradient A / ||A||_2 has length 1 whatever
the scale of A, S times the mean's (S the image's side), so at the weight tuned for the mean it pulls A to 0
everywhere (in the book profile within a few hundred steps, every pixel then painted by a C that has not yet learned
a face). With the code's mean the cycle loss wins in the book profile: A saturates towards 1, the input is kept and
the frames barely change, what AffineGAN reports of GANimation ("it predicts almost constant frames").
GANimation's issue threads report both saturations (albertpumarola/GANimation #9, #112).

The paper's setting vs the book's:

=====================  ======================================  =================================================
                       GANimation (and AffineGAN's use of it)  this module
=====================  ======================================  =================================================
y                      17 OpenFace AU intensities (/5),        the benchmark's K = 14 action units
                       measured on the faces                   (:data:`~i2vlib.data.face_shape.ACTIONS`), *exact*
training images        any face I_{y_o}; y_f the AUs of        (neutral, target) pairs of benchmark videos:
                       another training face                   I_{y_o} = frame 0, y_f = the exact AUs of a later
                                                               frame t; the critic's real images are the targets
                                                               I_t with their AUs (GANimation's are its inputs,
                                                               here all neutral); no loss compares I_t's pixels
                                                               with G's output
y_f at generation      "the most expressive AU from the        y_f(e, a) = the benchmark's AUs of expression e at
                       training set" (AffineGAN)               a for its typical person (below)
critic                 6 stride-2 layers at 128 px, a 3x3      the book's patch critic without normalisation
                       score head and a global AU conv         (WGAN-GP's penalty is per sample), its second
                                                               head regressing the K AUs averaged over patches
critic steps           4 per generator step, on new batches    ``critic_steps`` on the same batch (the trainer's)
=====================  ======================================  =================================================

**An oracle input.** The benchmark draws every frame from exact action-unit strengths
(:func:`i2vlib.data.synthetic.actions`: each expression a recipe of AUs, scaled by the person's gain and response
curve), and training conditions G on those strengths, of the input frame (y_o) and of the target frame (y_f).
No other method of the book is given them: AffineGAN and Fan et al. learn from the frames (and an intensity
label), FRGAN from landmarks (the AUs' geometry, not what they paint: teeth, lids, lines), and AffineGAN's GANimation
from AUs that OpenFace *measured*, with its errors and gaps (AffineGAN §4.1.2: it "relies on AUs extracted by
Openface which, however, does not compute the AUs for eyes movements"). Real folders of videos carry no AUs and the
book has no AU detector, so ``data`` must be ``synthetic``.

**Generation** (the one API): ``generate(image, intensities, expression=e)`` renders frame t from
y_f = ``actions(TYPICAL, {e: a_t})``, the benchmark's own function for the benchmark's typical person: gain 1 on
every action unit (the centre of the identities' 0.75-1.25) and a linear response r(a) = a. The input's identity is
unknown at generation, so its own gain and response curve cannot be used. a = 0 gives the neutral AUs (all 0); a
mix ``{e1: [...], e2: [...]}`` sums the recipes, as the benchmark does. :meth:`GANimationGenerator.aus` holds this
map in tensors (exact: for a linear responder ``actions`` is piecewise linear in a, with its corners at the
recipes' onsets and saturations, which are its knots), so a model exports to ONNX with the intensity sliders of
the other methods.
"""

from __future__ import annotations

import functools

import numpy as np
import torch
from torch import nn

from .. import api, losses
from ..data.clips import normalise, to_pixels, to_tensor
from ..data.face_shape import ACTIONS
from ..data.synthetic import RECIPES, Identity, actions, make_identity
from ..data.types import EXPRESSIONS
from ..errors import I2VError
from ..nn import init_weights, norm_2d, patch_critic
from .gan import GANTrainer

NAME = "ganimation"
K = len(ACTIONS)             # action units: the length of y
AU_CAP = 1.3                 # synthetic.actions clips every strength at 1.3 (a mix of expressions can reach it)
# The benchmark's typical person: gain 1 on every action unit, a linear response r(a) = a to every expression.
TYPICAL = Identity(index=-1, shape={}, look={}, gain=dict.fromkeys(ACTIONS, 1.0), curvature=dict.fromkeys(RECIPES, 0.0))

STATED = {"image_size": "GANimation: 128 x 128 faces", "batch": "GANimation: 25", "lr": "GANimation: Adam, 0.0001",
          "betas": "GANimation: beta1 0.5, beta2 0.999",
          "decay_from": "GANimation: 30 epochs, the rate decayed linearly to 0 over the last 10",
          "critic_steps": "GANimation: one generator step every 4 critic steps",
          "weights.gp": "GANimation: lambda_gp = 10", "weights.a": "GANimation: lambda_A = 0.1",
          "weights.tv": "GANimation: lambda_A lambda_TV = 0.1 x 0.0001", "weights.idt": "GANimation: lambda_idt = 10",
          "expressions": "GANimation: one model for every expression (conditioned on AUs, not on labels)"}
UNSTATED = {
    "weights.y": "10: lambda_y = 4000 is printed for a loss whose normalisation is not; the public code's 4000 x "
                 "mean squared error / batch is about 9.4 on the per-image ||.||_2^2, at its batch of 25 and 17 AUs",
    "steps": "40000, AffineGAN's (it does not say how long it trained GANimation)",
    "blocks": "6, the public code's (the paper builds G on Johnson et al.'s residual network)",
    "ngf": "64, the public code's", "ndf": "64, the public code's",
    "d_layers": "5, the book's deepest patch critic (GANimation's has six stride-2 layers at 128 px)",
    "videos": "200 per expression, as the other methods'",
}


def au_vector(units: dict) -> np.ndarray:
    """Action-unit strengths ``{name: value}`` as y, a (K,) array in the order of ``ACTIONS``."""
    return np.array([units[name] for name in ACTIONS], dtype=np.float32)


def frame_aus(clip, t: int) -> np.ndarray:
    """The exact y of frame ``t`` of a benchmark clip: what its person's face shows (:func:`synthetic.actions`)."""
    person = make_identity(int(clip.meta["seed"]), int(clip.identity))
    return au_vector(actions(person, {clip.expression: float(clip.intensity[t])}))


def requested_aus(mix: dict) -> np.ndarray:
    """y_f for a mix ``{expression: a}``: the benchmark's AUs of its typical person (the map generation uses)."""
    return au_vector(actions(TYPICAL, mix))


def knots() -> np.ndarray:
    """The intensities where ``actions`` of a linear responder bends: 0, 1 and every recipe's onset and saturation."""
    return np.unique([0.0, 1.0, *(v for recipe in RECIPES.values() for _, _, onset, full in recipe
                                  for v in (onset, full))])


def blend(A: torch.Tensor, C: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
    """I_{y_f} = (1 - A) C + A I_{y_o}: A = 1 keeps the input pixel."""
    return (1 - A) * C + A * image


class ResidualBlock(nn.Module):
    """x + conv-norm-ReLU-conv-norm (x): the generator's bottleneck."""

    def __init__(self, ch: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(ch, ch, 3, 1, 1), norm_2d(norm, ch), nn.ReLU(inplace=True),
                                  nn.Conv2d(ch, ch, 3, 1, 1), norm_2d(norm, ch))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class GANimationGenerator(nn.Module):
    """G(I_{y_o} | y_f) -> (A, C): a 7x7 convolution, two stride-2 downs, ``blocks`` residual blocks, two ups,
    then two 7x7 heads, A (sigmoid) and C (tanh). ``forward`` returns their blend I_{y_f}.

    :meth:`aus` turns intensities into y_f, the map generation uses (held in non-persistent buffers: it is the
    benchmark's, recomputed from :mod:`i2vlib.data.synthetic`, never stored in a checkpoint).
    """

    def __init__(self, cfg: dict):
        super().__init__()
        ngf, norm = int(cfg["ngf"]), cfg["norm"]
        layers, ch = [nn.Conv2d(3 + K, ngf, 7, 1, 3), norm_2d(norm, ngf), nn.ReLU(inplace=True)], ngf
        for _ in range(2):
            layers += [nn.Conv2d(ch, 2 * ch, 4, 2, 1), norm_2d(norm, 2 * ch), nn.ReLU(inplace=True)]
            ch *= 2
        layers += [ResidualBlock(ch, norm) for _ in range(int(cfg["blocks"]))]
        for _ in range(2):
            layers += [nn.ConvTranspose2d(ch, ch // 2, 4, 2, 1), norm_2d(norm, ch // 2), nn.ReLU(inplace=True)]
            ch //= 2
        self.body = nn.Sequential(*layers)
        self.attention = nn.Sequential(nn.Conv2d(ch, 1, 7, 1, 3), nn.Sigmoid())
        self.colour = nn.Sequential(nn.Conv2d(ch, 3, 7, 1, 3), nn.Tanh())
        init_weights(self)
        k = knots()
        table = np.stack([[requested_aus({e: float(a)}) for a in k] for e in cfg["expressions"]])   # (E, J+1, K)
        neutral = requested_aus({})
        self.register_buffer("knots", torch.tensor(k, dtype=torch.float32), persistent=False)
        self.register_buffer("neutral", torch.from_numpy(neutral), persistent=False)
        self.register_buffer("rises", torch.from_numpy(np.diff(table, axis=1).reshape(-1, K)), persistent=False)

    def masks(self, image: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(A, C) for images (N, 3, S, S) in [-1, 1] and AU vectors y (N, K)."""
        planes = y.to(image.dtype)[:, :, None, None].expand(-1, -1, *image.shape[2:])
        h = self.body(torch.cat([image, planes], 1))
        return self.attention(h), self.colour(h)

    def forward(self, image: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return blend(*self.masks(image, y), image)

    def aus(self, a: torch.Tensor) -> torch.Tensor:
        """y_f for intensities a (N, E), one per expression of the config: ``actions(TYPICAL, {e: a_e})`` as the sum
        of each expression's piecewise-linear rise between :func:`knots`, capped as the benchmark caps."""
        lo, hi = self.knots[:-1], self.knots[1:]
        ramps = ((a.float()[:, :, None] - lo) / (hi - lo)).clamp(0, 1)                 # (N, E, J)
        return (self.neutral + ramps.flatten(1) @ self.rises).clamp(max=AU_CAP)


def attention_loss(A: torch.Tensor, reading: str = "paper") -> tuple[torch.Tensor, torch.Tensor]:
    """L_A's two parts for masks A (N, 1, S, S): (||A||, TV(A)), as printed (``"paper"``) or as the public code
    computes them (``"code"``; see the module's docstring)."""
    dy, dx = A.float().diff(dim=-2), A.float().diff(dim=-1)
    if reading == "code":
        return A.float().mean(), dy.abs().sum() + dx.abs().sum()
    return A.float().flatten(1).norm(dim=1).mean(), (dy.pow(2).flatten(1).sum(1) + dx.pow(2).flatten(1).sum(1)).mean()


def regression(y_hat: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """||D_y(I) - y||_2^2 per image, averaged over the batch (L_y)."""
    return (y_hat.float() - y.float()).pow(2).sum(1).mean()


class Trainer(GANTrainer):
    """GANimation's generator, its two-headed critic, its batches (pairs with exact AUs) and its loss terms."""

    name = NAME
    options = {"expressions": list(EXPRESSIONS), "blocks": 6, "attention": "code",
               "weights": {"i": 1.0, "gp": 10.0, "y": 10.0, "a": 0.1, "tv": 1e-5, "idt": 10.0}}
    choices = {"attention": ("code", "paper")}
    profile_changes = {"smoke": {"blocks": 1, "videos": 2},
                       "book": {"steps": 2000, "batch": 8, "lr": 5e-4},
                       "paper": {"image_size": 128, "batch": 25, "lr": 1e-4, "critic_steps": 4, "steps": 40000,
                                 "decay_from": 2 / 3, "d_layers": 5}}
    critics = ("critic",)
    d_losses = {"d_i": ("i", "L_I: D_I(G(I_yo|y_f)) - D_I(I)"),
                "gp": ("gp", "L_I: (||grad D_I(I~)||_2 - 1)^2, WGAN-GP"),
                "d_y": ("y", "L_y: ||D_y(I) - y||_2^2 on real images")}
    g_losses = {"g_i": ("i", "L_I: -D_I(G(I_yo|y_f))"),
                "g_y": ("y", "L_y: ||D_y(G(I_yo|y_f)) - y_f||_2^2"),
                "a": ("a", "L_A: ||A||_2, both masks"),
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

    def build(self) -> dict[str, nn.Module]:
        # D_I and D_y: one patch critic (no normalisation: WGAN-GP) with a second head of K outputs
        return {"generator": GANimationGenerator(self.cfg),
                "critic": patch_critic(3, {**self.cfg, "norm": "none"}, classes=K)}

    def sample(self, rng: np.random.Generator) -> dict:
        """(neutral, target) pairs of random training videos (frame 0 and a random later frame t), with the exact
        AUs of both: y_o of the input, y_f of the target."""
        rows = {k: [] for k in ("neutral", "target", "y_o", "y_f")}
        for _ in range(int(self.cfg["batch"])):
            clip = self.sampler().clip(rng)
            t = int(rng.integers(1, len(clip)))
            rows["neutral"].append(to_tensor(clip.frames[0]))
            rows["target"].append(to_tensor(clip.frames[t]))
            rows["y_o"].append(torch.from_numpy(frame_aus(clip, 0)))
            rows["y_f"].append(torch.from_numpy(frame_aus(clip, t)))
        return {k: torch.stack(v) for k, v in rows.items()}

    def forward(self, b: dict) -> dict:
        G, image = self.nets["generator"], b["neutral"]
        A, C = G.masks(image, b["y_f"])
        fake = blend(A, C, image)                                       # I_{y_f} = G(I_{y_o} | y_f)
        out = {"A": A, "fake": fake}
        if self.uses("idt") or self.uses("a") or self.uses("tv"):
            A2, C2 = G.masks(fake, b["y_o"])                             # the cycle: G(I_{y_f} | y_o)
            out.update(A_cycle=A2, cycle=blend(A2, C2, fake))
        return out

    def _critic(self, x: torch.Tensor):
        """D_I(x) and D_y(x) from one pass through the shared trunk, computed once."""
        return functools.cache(lambda: self.nets["critic"].both(x))

    def d_terms(self, b: dict, out: dict) -> dict:
        real, fake, D = b["target"], out["fake"].detach(), self.nets["critic"]
        judged = self._critic(real)
        return {"d_i": lambda: losses.wgan_d(judged()[0], D(fake)),
                "gp": lambda: losses.gradient_penalty(D, real, fake),
                "d_y": lambda: regression(judged()[1], b["y_f"])}

    def g_terms(self, b: dict, out: dict) -> dict:
        judged, reading = self._critic(out["fake"]), self.cfg["attention"]
        both = functools.cache(lambda: [attention_loss(A, reading) for A in (out["A"], out["A_cycle"])])
        return {"g_i": lambda: losses.wgan_g(judged()[0]),
                "g_y": lambda: regression(judged()[1], b["y_f"]),
                "a": lambda: both()[0][0] + both()[1][0],
                "tv": lambda: both()[0][1] + both()[1][1],
                "idt": lambda: losses.l1(out["cycle"], b["neutral"])}

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
