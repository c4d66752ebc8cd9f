"""The one generation API shared by every method.

    model = i2vlib.load("run_dir_or_checkpoint")
    frames = model.generate(image, intensities=[0, .25, .5, 1.0], expression="happy")
    frames = model.generate(image, intensities={"happy": [...], "surprise": [...]})  # mixing
    frames = model.generate("photo.jpg", [0, .5, 1])   # a photo: its face found, animated, pasted back (faces.paste)

A method subclasses :class:`Model` and implements ``_encode`` (image -> features, run once per
image and cached) and ``_decode`` (features + one intensity per expression -> frames), so moving
a slider costs one decoder pass. A method that renders a whole clip at once (a refiner that sees
every frame, a recurrent baseline) overrides ``_decode_clip`` instead; a one-frame call still
goes through ``_decode``.
"""

from __future__ import annotations

import hashlib

import numpy as np
import torch

from .checkpoint import generator_weights, load_weights
from .data.clips import from_tensor, normalise, to_pixels, to_tensor
from .errors import I2VError, notes
from .faces.align import resize
from .faces.paste import PhotoClip, animate, takes_photo
from .inputs import MAX_FRAMES, check_image, check_intensities
from .io import to_numpy
from .lru import LRU

def domain_note(config: dict) -> str | None:
    """What a model of ``config`` was trained on and what to expect of it on a real face, in one line (None for a
    model trained on a folder of faces, which may well be photographs)."""
    if config.get("data") != "synthetic":
        return None
    return (f"note: this {config.get('method', '')} model was trained on the book's synthetic benchmark only (drawn, "
            "flat-shaded faces), never on a photograph: expect the face back nearly unchanged at a = 0 and, as a "
            "grows, the benchmark's drawn mouth, teeth and blush painted over it")


def check_joints(joints, what: str, shape: tuple, frames: bool = False) -> np.ndarray:
    """Joint positions (pixels) as a float32 array of ``shape`` (``frames``: T x ``shape`` with 1 <= T <=
    :data:`MAX_FRAMES`), finite; a tensor is detached. Anything else is one line naming ``what``."""
    try:
        a = np.asarray(to_numpy(joints), dtype=np.float32)
    except (TypeError, ValueError):
        a = None
    want = ("T", *shape) if frames else shape
    fits = a is not None and (a.shape[1:] == shape and 0 < len(a) <= MAX_FRAMES if frames else a.shape == shape)
    if not fits:
        extra = f" with 1 <= T <= {MAX_FRAMES}" if frames else ""
        raise I2VError(f"{what} are {' x '.join(map(str, want))} pixels{extra}, got shape "
                       f"{None if a is None else a.shape}")
    if not np.isfinite(a).all():
        raise I2VError(f"{what} hold NaN or infinite values; every joint needs a position (pixels)")
    return a


def prepare_image(image, size: int) -> np.ndarray:
    """An image (anything :func:`i2vlib.inputs.check_image` accepts) as a ``size`` x ``size`` RGB uint8 array.

    A non-square image is centre-cropped first; for a photo, crop the face with ``i2v prepare``. An image whose
    shorter side is under a quarter of ``size`` holds too little of a face to draw one from, and is refused.
    """
    img = check_image(image)
    h, w = img.shape[:2]
    if min(h, w) < max(1, size // 4):
        raise I2VError(f"a {w} x {h} px image is too small for a {size}-px model (its shorter side needs at least "
                       f"{size // 4} px); crop the face from a larger photo")
    if h != w:
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        img = img[top:top + s, left:left + s]
    return resize(img, (size, size)) if img.shape[0] != size else img


class Model:
    """Base class of every method's trained model. Subclasses set ``method``, ``expressions``,
    ``image_size``, ``config`` and implement ``_encode`` and ``_decode`` (or ``_decode_clip``)."""

    method: str = "?"
    expressions: tuple[str, ...] = ()
    image_size: int = 64
    batch_size: int = 16
    mixes: bool = True                   # False: one expression at a time (``single_reason`` says why)
    single_reason: str = ""
    step: int | None = None              # training steps behind the weights (set by load)
    checkpoint_hash: str | None = None   # sha1 prefix of the checkpoint file (set by load)
    unexportable = "they render from more than a face and intensities"   # why onnx_graph has no graph

    def __init__(self, config: dict, device: str = "cpu"):
        self.config = dict(config)
        self.device = torch.device(device)
        self._cache = LRU(8)    # encoder features of the last few images (see features)

    @classmethod
    def from_checkpoint(cls, ckpt: dict, device="cpu") -> Model:
        """The model of a checkpoint read by :func:`i2vlib.checkpoint.read_checkpoint`, its config complete: the caller
        completes (and upgrades) it with :func:`i2vlib.models.full_config`, as :func:`i2vlib.runs.load` does."""
        raise NotImplementedError

    # -- to implement -------------------------------------------------------------------
    def _encode(self, x: torch.Tensor, expressions: tuple[str, ...]):
        """Features of one image tensor (1, 3, S, S) in [-1, 1] for the given expressions."""
        raise NotImplementedError

    def _decode(self, features, a: dict[str, torch.Tensor]) -> torch.Tensor:
        """Frames (T, 3, S, S) in [-1, 1] for intensities ``a`` ({expression: (T,) tensor})."""
        raise NotImplementedError

    # -- the API ------------------------------------------------------------------------
    def tensor(self, image) -> torch.Tensor:
        """An image (path or array) as the (1, 3, S, S) tensor in [-1, 1] the networks take."""
        return to_tensor(prepare_image(image, self.image_size)).unsqueeze(0).to(self.device)

    def features(self, image, expressions) -> object:
        """Encoder features of ``image``, computed once and cached (a few images are kept)."""
        img = prepare_image(image, self.image_size)
        key = (hashlib.sha1(img.tobytes()).hexdigest(), tuple(expressions))

        def encode():
            with torch.inference_mode():
                return self._encode(to_tensor(img).unsqueeze(0).to(self.device), tuple(expressions))
        return self._cache.remember(key, encode)

    def generate(self, image, intensities, expression: str | None = None, as_tensor: bool = False,
                 face="auto", paste: bool = True):
        """One frame per intensity: T x H x W x 3 uint8 (or a (T, 3, H, W) tensor in [-1, 1] with ``as_tensor``).

        ``image`` is a path, a file object, a PIL image, or an array or tensor (:func:`i2vlib.inputs.check_image`
        names the kinds and ranges). An image of the model's size is taken as a face cropped
        as its training faces are (a benchmark frame; ``i2v prepare`` at that size). Any other is a photo: its
        largest face is found, cropped as the training faces are, animated, and each frame pasted back
        (:meth:`animate`), so the frames are the photo's size and every pixel outside the face's box is the
        photo's own. ``face``: ``"auto"`` (that rule), ``K`` (the K-th largest face of a photo, 1 the largest),
        or ``"whole"`` (find no face: the image centre-cropped and resized to the model's size, as are the
        frames). ``paste=False``: a photo's animated crop, not the photo. ``intensities`` is a list of values in
        [0, 1], one frame each, of ``expression`` (default: the model's only expression), or a dict
        ``{expression: list}`` of lists of one length that mixes expressions (a model with ``mixes = False``
        renders one at a time). The encoder features of ``image`` are cached, so another call on the same image
        costs decoder passes only.
        """
        if not isinstance(as_tensor, bool):
            raise I2VError(f"as_tensor must be True or False, got {as_tensor!r}")
        if not self.mixes and isinstance(intensities, dict) and len(intensities) > 1:
            raise I2VError(f"{self.single_reason or f'this {self.method} model'} cannot mix expressions "
                           f"({', '.join(map(str, intensities))})")
        mix = check_intensities(intensities, self.expressions, expression)
        image = check_image(image)
        if takes_photo(face, image.shape, self.image_size, paste):
            clip = self.animate(image, mix, face=None if face == "auto" else face, paste=paste)
            if clip.faces > 1:
                notes.warning(clip.says("face=K"))
            return to_tensor(clip.frames) if as_tensor else clip.frames
        feats = self.features(image, tuple(mix))      # refuses an image too small first: the note comes after
        if image.shape[:2] != (self.image_size, self.image_size):
            self.note_domain()
        with torch.inference_mode():
            a = {e: torch.as_tensor(v, dtype=torch.float32, device=self.device) for e, v in mix.items()}
            out = self._decode_clip(feats, a).float()
        return out if as_tensor else from_tensor(out)

    def animate(self, photo, intensities, expression: str | None = None, face: int | None = None,
                paste: bool = True) -> PhotoClip:
        """A photo's face animated and pasted back (:func:`i2vlib.faces.paste.animate`): its ``face``-th largest face
        (default the largest) found by dlib, cropped as the training faces are, one frame rendered per intensity
        (as :meth:`generate`), each pasted back into the photo (``paste=False``: the crop's frames). Returns the
        :class:`~i2vlib.faces.paste.PhotoClip`: the frames, the crop box, the landmarks, how many faces were found."""
        mix = check_intensities(intensities, self.expressions, expression)
        clip = animate(photo, lambda crop, landmarks: self.generate(crop, mix, **self.face_options(landmarks)),
                       self.image_size, face=face, paste=paste)
        self.note_domain()
        return clip

    def face_options(self, landmarks) -> dict:
        """Further arguments of :meth:`generate` for a face crop whose 68 landmarks (crop pixels) are known (a photo's,
        found by dlib before it was cropped): none; a method that measures its input's landmarks takes them."""
        return {}

    def note_domain(self) -> None:
        """Say once, in one line, what a model trained on the synthetic benchmark makes of a face that is not one."""
        note = domain_note(self.config)
        if note and not getattr(self, "_noted", False):
            self._noted = True
            notes.warning(note)

    def _decode_clip(self, features, a: dict[str, torch.Tensor]) -> torch.Tensor:
        """A whole clip (T, 3, S, S): by default ``_decode`` on chunks of ``batch_size`` frames."""
        n = len(next(iter(a.values())))
        return torch.cat([self._decode(features, {e: v[s:s + self.batch_size] for e, v in a.items()})
                          for s in range(0, n, self.batch_size)])

    def onnx_graph(self) -> torch.nn.Module:
        """The model as one network of uint8 pixels for :func:`i2vlib.onnx_export.to_onnx`: ``inputs`` names what it
        takes (``face``, then ``intensities``, one per expression), ``output`` what it returns (``frame``, or the
        fixed ``clip`` of a method that renders one). A method that is not one such network says why."""
        raise I2VError(f"{self.method} models cannot be exported: {self.unexportable}")

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.method} {self.image_size}px "
                f"expressions={','.join(self.expressions)} device={self.device}>")


class NetworkModel(Model):
    """A model backed by one trained network ``net``, built from the config by ``network``.

    Subclasses set ``method`` and ``network`` (the module class); the network is built from the checkpoint's
    config, which the caller has completed (and upgraded, if an older version wrote it) with
    :func:`i2vlib.models.full_config`, and its ``generator`` weights are loaded into it.
    """

    network: type = torch.nn.Module

    def __init__(self, net: torch.nn.Module, config: dict, device: str = "cpu"):
        super().__init__(config, device)
        self.net = net.to(self.device).eval()
        self.expressions = tuple(config["expressions"])
        self.image_size = int(config["image_size"])

    @classmethod
    def from_checkpoint(cls, ckpt: dict, device="cpu") -> NetworkModel:
        cfg = ckpt["config"]
        net = cls.network(cfg)
        load_weights(net, generator_weights(ckpt), ckpt.get("path", "checkpoint"))
        return cls(net, cfg, device)


class ClipModel(NetworkModel):
    """A model whose network renders one fixed clip from a face, the fixed-length baselines (the ConvLSTM, VGAN):
    ``net(I0)`` is the clip, its first ``first`` frames dropped (VGAN's reconstruction of the input), and it renders
    the intensities :attr:`supported_intensities` only (``clip_source`` says where the paper fixes them)."""

    mixes = False
    first = 0
    clip_source = ""

    def __init__(self, net: torch.nn.Module, config: dict, device: str, grid):
        super().__init__(net, config, device)
        self.supported_intensities = np.asarray(grid, dtype=np.float64)

    def _encode(self, x, expressions):
        return self.net(x)[0, self.first:]                      # the whole clip, cached per image

    def _decode_clip(self, clip, a):
        """The fixed clip: ``a`` must be :attr:`supported_intensities`."""
        got, want = next(iter(a.values())).cpu().double().numpy(), self.supported_intensities
        if len(got) != len(want) or not np.allclose(got, want, rtol=0, atol=1e-6):
            shown = ", ".join(f"{v:g}" for v in got[:6]) + (", ..." if len(got) > 6 else "")
            raise I2VError(f"the {self.method} baseline renders a fixed clip of {len(want)} frames at a = "
                           f"{_series(want)} ({self.clip_source}); got {len(got)} intensities ({shown})")
        return clip

    def onnx_graph(self) -> torch.nn.Module:
        return ClipGraph(self.net, self.first)


class ClipGraph(torch.nn.Module):
    """A fixed clip as one network of pixels: the face (uint8 S x S x 3) to its frames (uint8 T x S x S x 3)."""

    inputs, output = ("face",), "clip"

    def __init__(self, net: torch.nn.Module, first: int = 0):
        super().__init__()
        self.net, self.first = net, first

    def forward(self, face: torch.Tensor) -> torch.Tensor:
        return to_pixels(self.net(normalise(face)[None])[0, self.first:])


def _series(a: np.ndarray) -> str:
    num = lambda v: f"{v:.1f}" if v == round(v, 1) else f"{v:g}"  # noqa: E731
    return ", ".join(map(num, a)) if len(a) <= 3 else f"{num(a[0])}, {num(a[1])}, ..., {num(a[-1])}"


class PoseModel(NetworkModel):
    """A forecaster of the pose benchmark backed by one network (the VGAN and Mathieu et al. baselines of FRGAN
    §4.3): :meth:`forecast` renders the frames after the last observed one, one per pose asked for, as the pose
    protocol calls it (:mod:`i2vlib.evaluate.pose_protocol`). ``observes``: the observed frames it reads (I_9 alone: 1);
    ``actions``, where set: the actions it was trained on. It has no intensities to :meth:`generate` from."""

    observes = 1
    unexportable = "a pose model forecasts frames from observed frames, not from a face and intensities"

    def generate(self, image, intensities, expression: str | None = None, as_tensor: bool = False, face="auto",
                 paste: bool = True):
        raise I2VError(f"a {self.method} pose model forecasts frames from observed frames and joints (Model.forecast, "
                       "the FRGAN pose chapter), not from intensities")

    def animate(self, photo, intensities, expression: str | None = None, face=None, paste: bool = True):
        return self.generate(photo, intensities, expression)     # the same refusal: a pose model animates no face

    def forecast(self, image, joints_source, joints, as_tensor: bool = False, observed=None):
        """``len(joints)`` frames after ``image`` (S x S x 3 uint8, the last observed frame): T x S x S x 3 uint8, or a
        (T, 3, S, S) tensor in [-1, 1] with ``as_tensor``. ``joints`` (T x 13 x 2 pixels) are the poses of the frames
        and ``joints_source`` (13 x 2) that of ``image``; a model that observes no joints reads only how many frames
        to render. ``observed``: the last :attr:`observes` observed frames, ``image`` last (needed when more than
        one)."""
        size = (self.image_size, self.image_size, 3)
        image = to_numpy(image)
        if image.shape != size or image.dtype != np.uint8:
            raise I2VError(f"a pose input frame is {self.image_size} x {self.image_size} x 3 uint8, "
                           f"got {image.dtype} {image.shape}")
        k = self.observes
        if observed is None and k > 1:
            raise I2VError(f"{self.method} observes {k} frames: give the last {k} observed frames, the input frame "
                           "last, as observed=")
        try:
            observed = image[None] if observed is None else to_numpy(observed)
        except ValueError:
            observed = np.zeros(0)                                     # frames of different shapes
        if observed.shape != (k, *size) or observed.dtype != np.uint8 or not np.array_equal(observed[-1], image):
            raise I2VError(f"observed is the last {k} observed frames ({k} x {size[0]} x {size[1]} x 3 uint8) ending "
                           f"with the input frame, got {observed.dtype} {observed.shape}")
        shape = check_joints(joints, "target joints", (13, 2), frames=True).shape
        if joints_source is not None:                 # a model that observes no joints may be given none
            check_joints(joints_source, "the input frame's joints", (13, 2))
        if not isinstance(as_tensor, bool):
            raise I2VError(f"as_tensor must be True or False, got {as_tensor!r}")
        with torch.inference_mode():
            out = self._forecast(to_tensor(observed).to(self.device), shape[0]).float().clamp(-1, 1)
        return out if as_tensor else from_tensor(out)

    def _forecast(self, frames: torch.Tensor, n: int) -> torch.Tensor:
        """The ``n`` frames (n, 3, S, S) after the observed ``frames`` (observes, 3, S, S), in [-1, 1]."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.method} (poses) {self.image_size}px device={self.device}>"


class MixingModel(NetworkModel):
    """A network ``decoder(e0(I) + sum_k a_k residual_k(I))``: AffineGAN (Eq. 3) and Fan et al. (Eq. 7).

    The network provides ``e0``, ``residual(x, expression_index)``, ``mix`` and ``decoder``; the
    encoders run once per image, a slider step is one ``mix`` and one decoder pass.
    """

    def _encode(self, x, expressions):
        index = {e: torch.full((len(x),), self.expressions.index(e), dtype=torch.long, device=x.device)
                 for e in expressions}
        return {"f0": self.net.e0(x), "residual": {e: self.net.residual(x, index[e]) for e in expressions}}

    def _mixed(self, feats, a):
        n = len(next(iter(a.values())))
        f0 = [f.expand(n, *f.shape[1:]) for f in feats["f0"]]
        return self.net.mix(f0, [(a[e], feats["residual"][e]) for e in a])

    def _decode(self, feats, a):
        return self.net.decoder(self._mixed(feats, a))

    def onnx_graph(self) -> torch.nn.Module:
        return FrameGraph(self.net, len(self.expressions))


class FrameGraph(torch.nn.Module):
    """One frame of :meth:`MixingModel.generate` as one network: ``decoder(e0(I) + sum_k a_k residual_k(I))``
    (AffineGAN Eq. 3, Fan et al. Eq. 7) from the face (uint8 S x S x 3) and ``a`` (one intensity per expression
    of the model, 0 for an expression not shown) to the frame (uint8 S x S x 3). The encoders run on every call:
    at 64 px they cost a few milliseconds, and the graph stays one function a browser can call."""

    inputs, output = ("face", "intensities"), "frame"

    def __init__(self, net: torch.nn.Module, expressions: int):
        super().__init__()
        self.net, self.expressions = net, expressions

    def forward(self, face: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        x = normalise(face)[None]
        terms = [(a[k:k + 1], self.net.residual(x, torch.full((1,), k, dtype=torch.long)))
                 for k in range(self.expressions)]
        return to_pixels(self.net.decoder(self.net.mix(self.net.e0(x), terms)))[0]
