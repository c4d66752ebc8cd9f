"""G_C's fitter: a face's expression coefficients beta_t read off a frame, the 2-D analogue of FRGAN's 3DMM fit.

FRGAN's condition generator (§3.1) parameterises every frame of the reference video with a 3D Morphable Model,
identity alpha and expression coefficients beta_t, computed by [48] (3DDFA, a network that regresses the model's
parameters from the image), and retargets by combining the target's alpha with the reference's beta_t. The
benchmark's face model (:mod:`i2vlib.data.face_shape`) has a shape for alpha and 14 action units for beta
(:data:`UNITS`). :class:`FitterNet` regresses the action units of a frame, given the video's first (neutral) frame
so that a feature of the person (high brows, thick lips) is not read as an expression; it is trained on training
identities with their true action units, single expressions and pairs of them (:func:`training_set`), and ships as
``weights/fitter64.pt`` with a report of its held-out accuracy (``fitter64.json``, :func:`assess`).

Why not landmarks: the synthetic landmark network moves a closing eyelid by a fifth of its true 1.8 px at 64 px,
so a G_C that moves the reference's *measured* landmarks onto the target loses closed eyes and a one-sided smirk
(:func:`assess` reports both errors side by side). The fitter is G_C's part, not a judge: the instrument that
scores expressions (:mod:`.benchmark`) is a separate network trained on expression labels.

    python -m i2vlib.instruments.fitter --out i2vlib/instruments/weights/fitter64.pt
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ..clip_record import EXPRESSIONS
from ..data import face_shape
from ..data.clips import to_tensor
from ..data.synthetic import SyntheticBenchmark, actions, draw_face
from ..errors import ArgumentParser, I2VError, command_line, whole_number
from ..faces.align import resize
from ..io import write_json
from ..outputs import atomic_file, check_output
from .build import new_backdrop, random_pose
from .condition import beta_displacement, measure_landmarks, remove_rigid, template, to_canonical
from .nets import SIZE, n_parameters, trunk

UNITS = face_shape.ACTIONS
WEIGHTS = Path(__file__).resolve().parent / "weights" / "fitter64.pt"
FORMAT = "i2v-fitter"
FULL = {"identities": 4000, "views": 6, "steps": 4000, "batch": 128}
QUICK = {"identities": 200, "views": 4, "steps": 200, "batch": 64}
PAIRS = 0.3          # share of views showing two expressions at once (beta is not one expression's recipe)


class FitterNet(nn.Module):
    """(64 x 64 frame, the video's neutral first frame) -> the strength of each of the 14 action units."""

    def __init__(self, widths=(16, 32, 48, 64), squeeze: int = 24):
        super().__init__()
        self.features = trunk(widths, channels=6)
        self.squeeze = nn.Sequential(nn.Conv2d(widths[-1], squeeze, 1), nn.ReLU(inplace=True))
        self.head = nn.Sequential(nn.Linear(squeeze * 16, 64), nn.ReLU(inplace=True), nn.Linear(64, len(UNITS)))

    def forward(self, x, neutral):
        h = self.features(torch.cat([x, x - neutral.expand_as(x)], dim=1))
        return self.head(self.squeeze(h).flatten(1))


def unit_vector(units: dict) -> np.ndarray:
    return np.array([units[u] for u in UNITS], np.float32)


def random_mix(rng: np.random.Generator) -> dict:
    """One expression at a random intensity, or (with probability :data:`PAIRS`) two of them."""
    names = rng.choice(len(EXPRESSIONS), 2 if rng.random() < PAIRS else 1, replace=False)
    return {EXPRESSIONS[int(k)]: float(rng.uniform(0, 1)) for k in names}


def training_set(identities: int, views: int, seed: int = 0, progress: bool = True) -> dict:
    """Frames of the first ``identities`` TRAIN identities: per identity two sessions (a new backdrop half of the
    time), each a neutral frame and ``views / 2`` frames of :func:`random_mix`, head pose and sensor noise as the
    instruments' training set has them; ``units`` their true action units, ``neutral`` each frame's session neutral."""
    from tqdm.auto import tqdm

    bench = SyntheticBenchmark(size=SIZE, seed=seed, n_identities=max(3000, 10 * (identities // 8 + 1)))
    rng = np.random.default_rng([seed, 0xF17])
    frames, units, neutral = [], [], []
    for index in tqdm(bench.identities("train")[:identities], desc="render", unit="identity", disable=not progress):
        for _ in range(2):
            ident = bench.identity(int(index))
            ident = new_backdrop(ident, rng) if rng.random() < 0.5 else ident
            first = len(frames)
            for mix in [{"happy": 0.0}] + [random_mix(rng) for _ in range(max(1, views // 2))]:
                frames.append(draw_face(ident, mix, SIZE, random_pose(rng), rng)[0])
                units.append(unit_vector(actions(ident, mix)))
                neutral.append(first)
    return {"frames": np.stack(frames), "units": np.stack(units), "neutral": np.asarray(neutral, np.int64)}


def train(data: dict, steps: int, batch: int = 128, lr: float = 3e-3, seed: int = 0,
          progress: bool = True) -> FitterNet:
    """Smooth-L1 plus squared error of the action units (the squared part pulls the network away from "nothing
    anywhere" early on, as for the instruments' expression network); AdamW with a one-cycle schedule."""
    from tqdm.auto import tqdm

    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 0xF18])
    net = FitterNet().train()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    units = torch.from_numpy(data["units"])
    bar = tqdm(range(steps), desc="train fitter", unit="step", disable=not progress)
    for _ in bar:
        idx = rng.integers(len(data["frames"]), size=batch)
        pred = net(to_tensor(data["frames"][idx]), to_tensor(data["frames"][data["neutral"][idx]]))
        loss = F.smooth_l1_loss(pred, units[idx], beta=0.1) + 4.0 * F.mse_loss(pred, units[idx])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.set_postfix(loss=f"{loss.item():.4f}", refresh=False)
    return net.eval()


class Fitter:
    """The trained :class:`FitterNet`: :meth:`fit` gives the action units of frames of one face."""

    def __init__(self, net: FitterNet):
        self.net = net.eval()

    @classmethod
    def load(cls, path=None) -> Fitter:
        path = Path(path) if path is not None else WEIGHTS
        try:
            data = torch.load(path, map_location="cpu", weights_only=True)
        except FileNotFoundError:
            raise I2VError(f"no fitter weights at {path}; train them with "
                           "`python -m i2vlib.instruments.fitter --out PATH`") from None
        except Exception as e:      # a corrupt, truncated or foreign file
            raise I2VError(f"{path} is not a readable fitter file ({type(e).__name__})") from None
        if not isinstance(data, dict) or data.get("format") != FORMAT or data.get("units") != list(UNITS):
            raise I2VError(f"{path} is not an i2v fitter file for the action units {', '.join(UNITS)}")
        net = FitterNet()
        net.load_state_dict({k: v.float() for k, v in data["weights"].items()})
        return cls(net)

    def fit(self, frames, neutral=None) -> np.ndarray:
        """(T, 14) action units of T x H x W x 3 uint8 frames of one face (any square size), read against
        ``neutral`` (default: the first frame); clipped to the face model's range [0, 1.3]."""
        frames = np.asarray(frames)
        if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
            raise I2VError(f"the fitter reads T x H x W x 3 uint8 frames, got {frames.dtype} {frames.shape}")
        neutral = frames[0] if neutral is None else np.asarray(neutral)
        x = to_tensor(np.stack([resize(f, (SIZE, SIZE)) for f in frames]))
        n = to_tensor(resize(neutral, (SIZE, SIZE))[None])
        with torch.inference_mode():
            return self.net(x, n).clamp(0.0, 1.3).numpy().astype(np.float64)


_SHARED: dict = {}


def get_fitter(path=None) -> Fitter:
    """The shipped fitter (or the one at ``path``), loaded once per process."""
    key = str(path or WEIGHTS)
    if key not in _SHARED:
        _SHARED[key] = Fitter.load(path)
    return _SHARED[key]


def save(path, net: FitterNet, config: dict) -> Path:
    """Write the network's weights in half precision, atomically."""
    payload = {"format": FORMAT, "size": SIZE, "units": list(UNITS), "config": config,
               "weights": {k: v.half().clone() for k, v in net.state_dict().items() if v.is_floating_point()}}
    with atomic_file(path) as f:
        torch.save(payload, f)
    return Path(path)


def assess(fitter: Fitter, videos: int = 70, seed: int = 0) -> dict:
    """On the benchmark's TEST identities (``videos`` test videos, every expression in turn, neutral to peak): the
    fitter's mean absolute action-unit error, and how far G_C's landmarks land from the truth with each of its two
    sources of beta, in pixels, over the frames at intensity >= 0.5: the landmarks the fitter's units give
    (``displacement_error_px``) and the landmark network's measured displacement (``landmark_displacement_error_px``);
    each per expression too."""
    bench = SyntheticBenchmark(size=SIZE, seed=seed)
    mae, fit_err, lm_err = [], {}, {}
    for i in range(videos):
        e = EXPRESSIONS[i % len(EXPRESSIONS)]
        clip = bench.video("test", i, expression=e, curve="linear", n_frames=16)
        ident = bench.identity(int(clip.identity))
        true = np.stack([unit_vector(actions(ident, {e: float(a)})) for a in clip.intensity])
        units = fitter.fit(clip.frames)
        mae.append(np.abs(units - true).mean())
        strong = clip.intensity >= 0.5
        truth = remove_rigid(clip.landmarks.astype(np.float64))
        scale = np.linalg.norm(truth[0][36:42].mean(0) - truth[0][42:48].mean(0))   # px per interocular distance
        true_d = to_canonical(truth - truth[0], truth[0])
        fit_d = beta_displacement(units)
        seen = remove_rigid(measure_landmarks(clip.frames))
        seen_d = to_canonical(seen - seen[0], seen[0])
        unit = scale / np.linalg.norm(template()[36:42].mean(0) - template()[42:48].mean(0))   # px per template unit
        fit_err.setdefault(e, []).append(unit * np.linalg.norm(fit_d - true_d, axis=-1)[strong].mean())
        lm_err.setdefault(e, []).append(unit * np.linalg.norm(seen_d - true_d, axis=-1)[strong].mean())
    return {"unit_mae": float(np.mean(mae)),
            "displacement_error_px": float(np.mean([v for r in fit_err.values() for v in r])),
            "landmark_displacement_error_px": float(np.mean([v for r in lm_err.values() for v in r])),
            "per_expression": {e: {"displacement_error_px": float(np.mean(fit_err[e])),
                                   "landmark_displacement_error_px": float(np.mean(lm_err[e]))} for e in fit_err},
            "held_out": {"videos": videos, "split": "test", "size": SIZE}}


@command_line("fitter")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.instruments.fitter", description=__doc__.splitlines()[0])
    p.add_argument("--out", required=True, help="weights file to write (a .json report goes next to it)")
    p.add_argument("--quick", action="store_true", help="a small, rough fitter in about a minute")
    p.add_argument("--steps", type=whole_number(1), help=f"training steps (default {FULL['steps']})")
    p.add_argument("--seed", type=whole_number(0), default=0)
    args = p.parse_args(argv)
    check_output(args.out, "file")
    check_output(Path(args.out).with_suffix(".json"), "file")
    torch.set_num_threads(1)
    settings = {**(QUICK if args.quick else FULL), **({"steps": args.steps} if args.steps is not None else {})}
    problem = (f"no folder {Path(args.out).parent} to write {args.out} in" if not Path(args.out).parent.is_dir()
               else f"--steps must be at least 1, got {settings['steps']}" if settings["steps"] < 1 else None)
    if problem:
        print(f"fitter: error: {problem}", file=sys.stderr)
        return 2
    start = time.perf_counter()
    data = training_set(settings["identities"], settings["views"], seed=args.seed)
    rendered = time.perf_counter()
    net = train(data, settings["steps"], settings["batch"], seed=args.seed)
    trained = time.perf_counter()
    save(args.out, net, {"settings": settings, "seed": args.seed, "pairs": PAIRS})
    report = {"command": "python -m i2vlib.instruments.fitter " + " ".join(argv if argv is not None else sys.argv[1:]),
              "settings": settings, "seed": args.seed,
              "seconds": {"render": round(rendered - start, 1), "train": round(trained - rendered, 1)},
              "threads": 1, "parameters": n_parameters(net), "file_bytes": Path(args.out).stat().st_size,
              "accuracy": assess(Fitter.load(args.out), **({"videos": 14} if args.quick else {}))}
    write_json(Path(args.out).with_suffix(".json"), report)
    print(json.dumps({k: report[k] for k in ("seconds", "parameters", "accuracy")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
