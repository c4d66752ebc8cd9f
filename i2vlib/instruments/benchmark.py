"""The instrument for the embedded benchmark: three tiny networks trained on its faces.

The weights ship with the library (``weights/synthetic64.pt``, stored in half precision)
together with ``weights/synthetic64.json``: the command that trained them, how long it
took, and their accuracy on held-out (test-split) identities. Frames of any size are
resized to 64 px for the networks; landmarks are mapped back to the frames' pixels.

Intensity: a face shows how *strong* an expression looks, its visible strength ``r`` (the
benchmark's response ``r = r_k(a)``), read against the same person's neutral face; it does
not show the intensity ``a`` that was asked for: the curvature ``k`` of the person's response
is invisible. On the benchmark each identity's curvature is known, so :func:`inverse_response`
turns a measured ``r`` into a measured ``a``.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path

import numpy as np
import torch

from ..clip_record import EXPRESSIONS
from ..data.clips import to_tensor
from ..errors import I2VError
from ..faces.align import resize
from ..lru import LRU
from ..outputs import atomic_file
from .measurement import Measurement
from .nets import SIZE, build

WEIGHTS = Path(__file__).resolve().parent / "weights" / "synthetic64.pt"
FORMAT, VERSION = "i2v-instruments", 1
FACE_THRESHOLD = 0.0  # face logit above which a frame counts as showing a face


MIN_STRENGTH = 0.1  # below this visible strength a frame shows no expression at all


def strongest_expression(strength) -> np.ndarray:
    """Index of the strongest expression of each row of a T x 7 strength array; -1 where none
    reaches :data:`MIN_STRENGTH` (a neutral face shows no expression, not the first one)."""
    strength = np.asarray(strength)
    best = np.argmax(strength, axis=1)
    return np.where(strength.max(axis=1) >= MIN_STRENGTH, best, -1)


def inverse_response(r, k: float):
    """The intensity ``a`` at which an identity with response curvature ``k`` shows strength ``r``.

    Inverse of :func:`i2vlib.data.synthetic.response`, ``r = (e^{ka} - 1) / (e^k - 1)``;
    ``r`` is clipped to [0, 1].
    """
    r = np.clip(np.asarray(r, dtype=np.float64), 0.0, 1.0)
    if abs(k) < 1e-6:
        return r
    return np.log1p(r * math.expm1(k)) / k


def save_weights(path, nets: dict, config: dict, half: bool = True) -> Path:
    """Write the three networks' weights (half precision by default) atomically."""
    def pack(sd):
        return {k: (v.half() if half and v.is_floating_point() else v).clone() for k, v in sd.items()}

    payload = {"format": FORMAT, "version": VERSION, "size": SIZE, "expressions": list(EXPRESSIONS),
               "config": config, "weights": {n: pack(m.state_dict()) for n, m in nets.items()}}
    with atomic_file(path) as f:
        torch.save(payload, f)
    return Path(path)


class SyntheticInstrument:
    """Face/no-face + 68 landmarks, a 128-d identity embedding, and expression strengths."""

    name = "synthetic"
    size = SIZE
    dim = 128
    expressions = EXPRESSIONS

    # The expression network reads a frame 9 times, shifted by every offset of at most one pixel
    # (the neutral face stays put), and averages: a small head movement should not change the
    # reading, and averaging cuts the held-out intensity error by about a tenth.
    SHIFTS = tuple((dx, dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1))

    def __init__(self, nets: dict, config: dict | None = None, path=None, cache: int = 50_000):
        self.nets = {k: m.eval() for k, m in nets.items()}
        self.config = dict(config or {})
        self.path = None if path is None else Path(path)
        self._cache = LRU(cache)

    @classmethod
    def load(cls, path=None) -> SyntheticInstrument:
        """The shipped instrument, or the one saved at ``path`` by :mod:`i2vlib.instruments.build`."""
        path = Path(path) if path is not None else WEIGHTS
        if not path.is_file():
            raise I2VError(f"no instrument weights at {path}; train them with "
                           "`python -m i2vlib.instruments.build --out PATH`")
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:  # corrupt, truncated or foreign file
            raise I2VError(f"{path} is not a readable instrument file ({type(e).__name__})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise I2VError(f"{path} is not an i2v instrument file")
        nets = build(data.get("config", {}).get("nets"))
        try:
            for name, net in nets.items():
                net.load_state_dict({k: v.float() if v.is_floating_point() else v
                                     for k, v in data["weights"][name].items()})
        except (KeyError, RuntimeError) as e:
            raise I2VError(f"{path}: the weights do not fit the instrument networks "
                           f"({str(e).splitlines()[0][:120]})") from None
        return cls(nets, data.get("config"), path)

    def _tensor(self, frames) -> tuple[torch.Tensor, float]:
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise I2VError(f"the instrument takes T x H x W x 3 uint8 frames, got {frames.dtype} {frames.shape}")
        h, w = frames.shape[1:3]
        if h != w:
            raise I2VError(f"the synthetic instrument takes square frames, got {w}x{h}")
        if h != SIZE:
            frames = np.stack([resize(f, (SIZE, SIZE)) for f in frames])
        return to_tensor(frames), h / SIZE

    @torch.inference_mode()
    def raw(self, frames, neutral=None) -> dict:
        """Network outputs for T frames: face logits, landmarks (frame pixels), embeddings, strengths.

        ``neutral``: the person's neutral face that the strengths are read against (default:
        the first frame).

        A frame's measurement must not depend on the frames measured with it (a convolution's
        last bits change with the batch size), so every frame goes through the networks on its
        own, and is remembered: the same frame (with the same neutral face) always gets exactly
        the same numbers, and a still video exactly zero distances.
        """
        frames = np.asarray(frames)
        if frames.ndim == 3:
            frames = frames[None]
        if len(frames) == 0:
            raise I2VError("no frames to measure")
        x, scale = self._tensor(frames)
        n = self._tensor(frames[0] if neutral is None else neutral)[0][:1]
        n_key = hashlib.sha1(n.numpy().tobytes()).digest()
        # One frame at a time is far too small to share between CPU threads: with two threads
        # on a busy machine it runs fifty times slower than with one.
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            rows = [self._one(xi[None], n, n_key) for xi in x]
        finally:
            torch.set_num_threads(threads)
        out = {k: np.stack([r[k] for r in rows]) for k in rows[0]}
        # Pixel centres: p_frame = (p_64 + 0.5) * scale - 0.5.
        out["landmarks"] = (out["landmarks"] + 0.5) * scale - 0.5
        return out

    def _face(self, x: torch.Tensor) -> dict:
        """What one frame (1, 3, 64, 64) says whatever the neutral face: face logit, landmarks, embedding."""
        lm, logit = self.nets["landmarks"](x)
        return {"face_logit": logit.numpy()[0], "landmarks": lm.numpy()[0],
                "embedding": self.nets["identity"](x).numpy()[0]}

    def _one(self, x: torch.Tensor, n: torch.Tensor, n_key: bytes) -> dict:
        """One frame's measurement; its strengths remembered per neutral face (``n_key``)."""
        row = self._cache.remember(hashlib.sha1(x.numpy().tobytes()).digest(), lambda: self._face(x))
        if n_key not in row:
            shifted = torch.cat([torch.roll(x, (dy, dx), dims=(2, 3)) for dx, dy in self.SHIFTS])
            row[n_key] = self.nets["expression"](shifted, n).clamp(0.0, 1.0).mean(0).numpy()
        return {"face_logit": row["face_logit"], "landmarks": row["landmarks"].copy(),
                "embedding": row["embedding"].copy(), "strength": row[n_key].copy()}

    def measure(self, frames, neutral=None) -> Measurement:
        """Measure T frames; frames whose face score is below the threshold get NaN rows.

        Strengths are read against ``neutral`` (H x W x 3; default: the first frame), the
        person's face at rest — in an evaluation, the input image.
        """
        raw = self.raw(frames, neutral)
        face = raw["face_logit"] > FACE_THRESHOLD
        for key in ("landmarks", "embedding", "strength"):
            raw[key][~face] = np.nan
        return Measurement(face=face, embedding=raw["embedding"], landmarks=raw["landmarks"],
                           strength=raw["strength"], expressions=tuple(self.expressions))

    def __repr__(self) -> str:
        where = f" from {self.path.name}" if self.path else ""
        return f"<SyntheticInstrument 64px{where}: face+landmarks, 128-d identity, 7 expression strengths>"
