"""FRGAN's pose condition generator G_C: an LSTM on 2-D joints, after Villegas et al. [39].

Zhao et al. (ECCV 2018) §3.1, "Human Pose Forecasting": "We follow [39] to implement an LSTM
architecture as the human pose predictor. The human pose of each frame is represented by the 2D
coordinate positions of joints. The LSTM observes consecutive pose inputs to identify the type of
motion, and then predicts the pose for the next period of time." §4.1 (Penn Action): "It is
trained to observe 10 inputs and predict 32 steps."

A pose is 13 joints in Penn Action order (head; left/right shoulder, elbow, wrist, hip, knee,
ankle) x (x, y) pixel coordinates in an S x S image, and a visibility flag per joint.

Model (as in [39])::

    u_t = normalise(joints_t)                       (x / (S-1)) * 2 - 1, in [-1, 1]
    x_t = [u_t * visible_t (26), visible_t (13)]    t = 1..10: the observed poses
    x_t = 0                                         t = 11..42: no input for the future
    h_t = LSTM(x_t, h_{t-1})                        one layer
    u_hat_t = tanh(W h_t + b)                       t = 11..42: the 32 predicted poses

The prediction thus depends on the 10 observed poses only. Training (as in [39]): mean squared
error over the *visible* joints of the 32 future poses, RMSProp at lr 1e-3, gradients clipped
at norm 25, on random 42-frame windows of the training sequences.

Villegas et al. used 1024 hidden units; we default to 256 so a model trains on a laptop CPU in
about a minute.

Why :func:`train_lstm` is its own loop rather than :func:`i2vlib.train.train`: G_C is not a method of
the book but the fixed condition generator of the pose protocol (:mod:`i2vlib.evaluate.pose_protocol`), trained
once in two minutes with [39]'s recipe (RMSProp, gradient clipping, no critic) on joint sequences held
in memory, and shipped as ``weights/pose_lstm64.pt`` beside its accuracy. Nothing resumes, caches or
loads it as a run; :mod:`i2vlib.train` is the loop of the methods' GAN trainers.
"""

from __future__ import annotations

import pickle
import time
import zipfile
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import I2VError
from ..io import to_json
from ..outputs import atomic_file

OBSERVED, PREDICTED = 10, 32
JOINTS = 13
WINDOW = OBSERVED + PREDICTED
CLIP = 25.0                                  # gradient-norm clipping, [39]
FORMAT = "i2v-pose-lstm"
FORMAT_VERSION = 1


# ----------------------------------------------------------------------------------------------
# Coordinates
# ----------------------------------------------------------------------------------------------
def _size(size) -> int:
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 2:
        raise I2VError(f"image size must be an integer >= 2, got {size!r}")
    return int(size)


def normalise(joints, size: int):
    """Pixel coordinates in an S x S image -> [-1, 1]: ``x / (S - 1) * 2 - 1`` (arrays or tensors)."""
    return joints / (_size(size) - 1) * 2 - 1


def denormalise(u, size: int):
    """The inverse of :func:`normalise`: [-1, 1] -> pixels, ``(u + 1) / 2 * (S - 1)``."""
    return (u + 1) / 2 * (_size(size) - 1)


def _check_pose(joints, visible, n_joints: int, what: str = "observed") -> None:
    """``joints`` (N, T, J, 2) and ``visible`` (N, T, J); one line when not."""
    if joints.ndim != 4 or joints.shape[2:] != (n_joints, 2):
        raise I2VError(f"{what} joints must be N x T x {n_joints} x 2, got shape {tuple(joints.shape)}")
    if tuple(visible.shape) != tuple(joints.shape[:3]):
        raise I2VError(f"{what} visibility must be N x T x {n_joints} to match the joints "
                       f"{tuple(joints.shape)}, got shape {tuple(visible.shape)}")


# ----------------------------------------------------------------------------------------------
# The network
# ----------------------------------------------------------------------------------------------
class PoseLSTM(nn.Module):
    """10 observed poses -> the next ``n_future`` poses, all normalised to [-1, 1] (§3.1, [39]).

    One LSTM layer whose input at an observed step is the 26 coordinates times visibility and
    the 13 visibility flags, and zero at every future step; a linear layer + tanh reads each
    future hidden state out as 26 coordinates.
    """

    def __init__(self, hidden: int = 256, joints: int = JOINTS):
        super().__init__()
        if isinstance(hidden, bool) or not isinstance(hidden, int) or hidden < 1:
            raise I2VError(f"hidden must be a positive integer, got {hidden!r}")
        if isinstance(joints, bool) or not isinstance(joints, int) or joints < 1:
            raise I2VError(f"joints must be a positive integer, got {joints!r}")
        self.hidden, self.joints = hidden, joints
        self.lstm = nn.LSTM(3 * joints, hidden, num_layers=1, batch_first=True)
        self.head = nn.Linear(hidden, 2 * joints)

    def inputs(self, observed: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
        """The LSTM's inputs for the observed steps, (N, 10, 39): coordinates x visibility, flags.

        An invisible joint's coordinates are zeroed (whatever they hold, NaN included).
        """
        _check_pose(observed, visible, self.joints)
        if observed.shape[1] != OBSERVED:
            raise I2VError(f"the LSTM observes {OBSERVED} poses, got {observed.shape[1]}")
        vis = visible.to(observed.dtype) if visible.dtype == torch.bool else (visible > 0.5).to(observed.dtype)
        coords = torch.where(vis[..., None] > 0, observed, torch.zeros((), dtype=observed.dtype))
        n, t = observed.shape[:2]
        return torch.cat([coords.reshape(n, t, 2 * self.joints), vis], dim=2)

    def forward(self, observed: torch.Tensor, visible: torch.Tensor, n_future: int = PREDICTED) -> torch.Tensor:
        """``observed`` (N, 10, J, 2) normalised, ``visible`` (N, 10, J) -> (N, n_future, J, 2)."""
        if isinstance(n_future, bool) or not isinstance(n_future, int) or n_future < 1:
            raise I2VError(f"n_future must be a positive integer, got {n_future!r}")
        x = self.inputs(observed, visible)
        n = x.shape[0]
        x = torch.cat([x, x.new_zeros(n, n_future, x.shape[2])], dim=1)   # zero inputs for the future
        h, _ = self.lstm(x)
        out = torch.tanh(self.head(h[:, OBSERVED:]))
        return out.reshape(n, n_future, self.joints, 2)


def masked_mse(pred: torch.Tensor, target: torch.Tensor, visible: torch.Tensor) -> torch.Tensor:
    """Mean squared error over the coordinates of visible joints only ([39]'s loss).

    ``pred``, ``target`` (..., J, 2); ``visible`` (..., J). Invisible joints contribute nothing
    (their targets may hold anything, NaN included); with no visible joint the loss is 0.
    """
    if pred.shape != target.shape or tuple(visible.shape) != tuple(pred.shape[:-1]) or pred.shape[-1] != 2:
        raise I2VError(f"masked_mse needs pred and target (..., J, 2) and visibility (..., J), got "
                       f"{tuple(pred.shape)}, {tuple(target.shape)} and {tuple(visible.shape)}")
    vis = (visible > 0.5) if visible.dtype != torch.bool else visible
    vis = vis[..., None].expand_as(pred)
    diff = torch.where(vis, pred - target, torch.zeros((), dtype=pred.dtype))   # before squaring: no NaN grads
    return (diff ** 2).sum() / vis.sum().clamp(min=1)


# ----------------------------------------------------------------------------------------------
# Training and prediction
# ----------------------------------------------------------------------------------------------
def _sequences(joints, visibility, size: int):
    """Normalised joints (N, T, J, 2) with invisible joints at 0, and visibility (N, T, J) as float: what
    training and :func:`predict` give the network."""
    j = np.asarray(joints, dtype=np.float32)
    v = np.asarray(visibility)
    _check_pose(j, v, j.shape[2] if j.ndim == 4 else JOINTS, "training")
    v = v.astype(bool)
    u = np.where(v[..., None], normalise(np.nan_to_num(j), size), 0.0).astype(np.float32)
    return torch.from_numpy(u), torch.from_numpy(v.astype(np.float32))


def train_lstm(joints, visibility, size: int, steps: int = 3000, batch: int = 32, seed: int = 0,
               hidden: int = 256, lr: float = 1e-3, log_every: int = 100) -> tuple[PoseLSTM, list[dict]]:
    """Train a :class:`PoseLSTM` on joint sequences, as [39]: observe 10, predict 32.

    ``joints`` (N, T, J, 2) pixels in an S x S image (``size``), T >= 42; ``visibility`` (N, T, J).
    Each step draws ``batch`` random sequences and a random 42-frame window of each, and minimises
    :func:`masked_mse` of the 32 future poses with RMSProp (``lr``) and gradient-norm clipping at 25.
    Deterministic for a ``seed`` (and a torch thread count); the global torch RNG is left as it was.

    Returns the model (in eval mode) and the history: ``{"step", "loss", "seconds"}`` every
    ``log_every`` steps and at the last, the loss averaged over the steps since the previous entry.
    """
    for name, v in (("steps", steps), ("batch", batch), ("log_every", log_every)):
        if isinstance(v, bool) or not isinstance(v, int) or v < 1:
            raise I2VError(f"{name} must be a positive integer, got {v!r}")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise I2VError(f"lr must be a positive number, got {lr!r}")
    u, vis = _sequences(joints, visibility, size)
    n, t, n_joints = u.shape[:3]
    if n < 1 or t < WINDOW:
        raise I2VError(f"training needs at least one sequence of at least {WINDOW} frames "
                       f"({OBSERVED} observed + {PREDICTED} predicted), got {n} of {t}")
    rng = np.random.default_rng(seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = PoseLSTM(hidden, n_joints)
    opt = torch.optim.RMSprop(model.parameters(), lr=lr)
    offsets = torch.arange(WINDOW)
    history, total, count, start_time = [], 0.0, 0, time.perf_counter()
    model.train()
    for step in range(1, steps + 1):
        seq = torch.from_numpy(rng.integers(0, n, batch))[:, None]
        frames = torch.from_numpy(rng.integers(0, t - WINDOW + 1, batch))[:, None] + offsets
        x, v = u[seq, frames], vis[seq, frames]                       # (B, 42, J, 2), (B, 42, J)
        pred = model(x[:, :OBSERVED], v[:, :OBSERVED], PREDICTED)
        loss = masked_mse(pred, x[:, OBSERVED:], v[:, OBSERVED:])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), CLIP)
        opt.step()
        total, count = total + float(loss.detach()), count + 1
        if step % log_every == 0 or step == steps:
            history.append({"step": step, "loss": total / count,
                            "seconds": round(time.perf_counter() - start_time, 3)})
            total, count = 0.0, 0
    model.eval()
    return model, history


def predict(model: PoseLSTM, observed_joints, observed_visibility, size: int, n: int = PREDICTED) -> np.ndarray:
    """The next ``n`` poses, in pixels: (10, J, 2) -> (n, J, 2), or (N, 10, J, 2) -> (N, n, J, 2).

    ``observed_visibility`` is (10, J) or (N, 10, J). Runs in eval mode without gradients.
    """
    j = np.asarray(observed_joints, dtype=np.float32)
    v = np.asarray(observed_visibility)
    single = j.ndim == 3
    if single:
        j, v = j[None], v[None]
    _check_pose(j, v, model.joints)
    u, v = _sequences(j, v, size)
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode():
            out = model(u.to(device), v.to(device), n)
    finally:
        model.train(was_training)
    px = denormalise(out.float().cpu().numpy(), size).astype(np.float32)
    return px[0] if single else px


# ----------------------------------------------------------------------------------------------
# Files
# ----------------------------------------------------------------------------------------------
def save_lstm(model: PoseLSTM, path, meta: dict | None = None, half: bool = False) -> Path:
    """Write the model atomically (a crash mid-write leaves any previous file intact)::

        {"format": "i2v-pose-lstm", "version": 1, "hidden": H, "joints": J, "state": state_dict, "meta": meta}

    ``meta`` (e.g. the image size and training steps) is stored as JSON types; ``half`` stores the
    weights in half precision (as shipped: half the bytes; :func:`load_lstm` computes in float32).
    """
    dtype = torch.float16 if half else None
    payload = {"format": FORMAT, "version": FORMAT_VERSION, "hidden": model.hidden, "joints": model.joints,
               "state": {k: v.detach().cpu().to(dtype or v.dtype).clone() for k, v in model.state_dict().items()},
               "meta": to_json(dict(meta or {}))}
    with atomic_file(path) as f:
        torch.save(payload, f)
    return Path(path)


def load_lstm(path) -> tuple[PoseLSTM, dict]:
    """Read a file written by :func:`save_lstm` (``weights_only``): the model in eval mode and its meta."""
    path = Path(path)
    if not path.is_file():
        raise I2VError(f"no such pose LSTM file: {path}")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, zipfile.BadZipFile, EOFError, RuntimeError, ValueError, AttributeError,
            KeyError, IndexError, TypeError, OSError) as e:
        first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise I2VError(f"{path} is not a readable pose LSTM (corrupt, truncated or foreign file: "
                       f"{first[:160]})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise I2VError(f"{path} is not an i2v pose LSTM (no {FORMAT!r} header)")
    if not isinstance(data.get("version"), int) or data["version"] > FORMAT_VERSION:
        raise I2VError(f"{path} is a pose LSTM of format version {data.get('version')!r}; "
                       f"this i2vlib reads version {FORMAT_VERSION}; upgrade i2vlib")
    for key in ("hidden", "state"):
        if key not in data:
            raise I2VError(f"{path} is an incomplete pose LSTM (no {key!r})")
    model = PoseLSTM(data["hidden"], data.get("joints", JOINTS))
    try:
        model.load_state_dict(data["state"])
    except (RuntimeError, TypeError, AttributeError) as e:
        detail = " ".join(str(e).split())[:200]
        raise I2VError(f"{path}: weights do not fit a pose LSTM of {data['hidden']} units ({detail})") from None
    model.eval()
    return model, dict(data.get("meta") or {})


def zero_velocity(observed_joints, n: int = PREDICTED) -> np.ndarray:
    """The baseline forecast: the last observed pose repeated ``n`` times ((..., 10, J, 2) -> (..., n, J, 2))."""
    j = np.asarray(observed_joints)
    return np.repeat(j[..., -1:, :, :], n, axis=-3)


__all__ = ["OBSERVED", "PREDICTED", "PoseLSTM", "normalise", "denormalise", "masked_mse", "train_lstm",
           "predict", "save_lstm", "load_lstm", "zero_velocity"]
