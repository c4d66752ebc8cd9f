"""Train the synthetic-benchmark instruments and measure them on held-out identities.

    python -m i2vlib.instruments.build --out i2vlib/instruments/weights/synthetic64.pt

renders a training set from TRAIN identities of the benchmark (identity i is in the train
split when i % 10 < 8, so the 8000 used here extend past the default 3000 without touching a
test identity): per identity, two sessions of a neutral frame and two expressive frames with
random expression, intensity, head pose (the benchmark's jitter, a little wider) and sensor
noise, half of the sessions in front of a new background so that the identity embedding
looks at the person, not the backdrop; plus images without a face. It then trains the three
networks of :mod:`.nets` (the expression network for 6000 steps, the faster-learning landmark
and identity networks for the first 1500), measures them on TEST identities (:func:`assess`),
and writes the weights and, next to them, a JSON report: the command, the wall time (about
25 minutes on one CPU thread), the sizes and the held-out accuracy. ``--quick`` trains a
small instrument in about a minute; ``--assess-only`` measures saved weights again.

Why this loop is not :func:`i2vlib.train.train`: an instrument is not a run of the run store. It is a
measuring tool trained once, on a training set rendered into memory before the first step, by three
networks in two optimiser groups with their own step counts and one-cycle schedules; it ships as
weights plus an accuracy report, and nothing resumes it, caches it by config or loads it through
``i2vlib.load``. A GAN trainer (config, critics, stages, checkpoints, resume) would add machinery it
never uses and change the random stream behind the shipped weights.
"""

from __future__ import annotations

import json
import math
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .. import metrics
from ..clip_record import EXPRESSIONS
from ..data.clips import to_tensor
from ..data.synthetic import HeadPose, SyntheticBenchmark, draw_face, response
from ..errors import ArgumentParser, I2VError, command_line, whole_number
from ..io import write_json
from ..outputs import check_output
from .benchmark import SyntheticInstrument, inverse_response, save_weights, strongest_expression
from .nets import NETS, SIZE, build, n_parameters

FULL = {"identities": 8000, "views": 4, "steps": 6000, "other_steps": 1500, "batch": 128, "id_batch": 64}
QUICK = {"identities": 300, "views": 4, "steps": 300, "other_steps": 300, "batch": 64, "id_batch": 32}


# ---------------------------------------------------------------------------- data

def random_pose(rng: np.random.Generator, amount: float = 1.25) -> HeadPose:
    """A head pose drawn like one frame of the benchmark's jitter track (slightly wider)."""
    base = rng.uniform(-1, 1, 4) * np.array([0.02, 0.02, 0.03, 0.03])
    walk = rng.normal(0, 1, 4) * np.array([0.006, 0.006, 0.012, 0.008]) * 1.4  # AR(1) stationary spread
    d = (base + walk) * amount
    return HeadPose(dx=d[0], dy=d[1], angle=d[2], zoom=1.0 + d[3])


def new_backdrop(identity, rng: np.random.Generator):
    """The same person in front of another background and in another shirt."""
    return replace(identity, look={**identity.look, "bg": rng.uniform(60, 230, 3), "shirt": rng.uniform(20, 235, 3)})


def random_view(ident, rng: np.random.Generator, a: float | None = None) -> dict:
    """One random frame of ``ident`` (an Identity): expression, intensity (unless given), pose, noise from ``rng``."""
    e = EXPRESSIONS[rng.integers(len(EXPRESSIONS))]
    if a is None:
        a = 0.0 if rng.random() < 0.1 else float(rng.uniform(0, 1))
    image, lm = draw_face(ident, {e: a}, SIZE, random_pose(rng), rng)
    strength = np.zeros(len(EXPRESSIONS), np.float32)
    strength[EXPRESSIONS.index(e)] = float(response(a, ident.curvature[e]))
    return {"image": image, "landmarks": lm, "strength": strength, "expression": e, "a": a}


def no_face(rng: np.random.Generator, face: np.ndarray | None = None) -> np.ndarray:
    """An image without a face: a smooth colour field, a flat backdrop, or a face cut into shuffled tiles."""
    from PIL import Image

    kind = rng.integers(3) if face is not None else rng.integers(2)
    if kind == 0:
        small = rng.uniform(0, 255, (int(rng.integers(2, 9)),) * 2 + (3,)).astype(np.uint8)
        img = np.asarray(Image.fromarray(small).resize((SIZE, SIZE), Image.Resampling.BICUBIC), np.float32)
    elif kind == 1:
        yy, xx = np.mgrid[0:SIZE, 0:SIZE] / SIZE
        g = rng.uniform(-40, 40, 2)
        img = rng.uniform(40, 230, 3)[None, None] + (g[0] * xx + g[1] * yy)[..., None]
    else:
        t = 8 * int(rng.integers(1, 3))
        tiles = face.reshape(SIZE // t, t, SIZE // t, t, 3).swapaxes(1, 2).reshape(-1, t, t, 3)
        tiles = tiles[rng.permutation(len(tiles))]
        img = tiles.reshape(SIZE // t, SIZE // t, t, t, 3).swapaxes(1, 2).reshape(SIZE, SIZE, 3).astype(np.float32)
    img = img + rng.normal(0, rng.uniform(0, 4), img.shape)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


def train_identities(count: int, offset: int = 0, bench_seed: int = 0) -> tuple[SyntheticBenchmark, np.ndarray]:
    """The benchmark (seed ``bench_seed``) and the indices of its TRAIN identities ``offset`` ... ``offset + count - 1``
    (in index order)."""
    # Identity i belongs to the split i % 10 picks (0-7: train), so a benchmark with more than the
    # default 3000 identities has more training identities and the same test identities.
    last = offset + count
    bench = SyntheticBenchmark(size=SIZE, seed=bench_seed, n_identities=max(3000, 10 * (last // 8 + 1)))
    return bench, bench.identities("train")[offset:last]


def training_set(identities: int, views: int, seed: int = 0, sessions: int = 2, negatives: float = 0.1,
                 backdrop: float = 0.5, progress: bool = True, offset: int = 0, bench_seed: int = 0) -> dict:
    """Render random views of ``identities`` TRAIN identities, from the ``offset``-th on (the first by default), of
    the benchmark with seed ``bench_seed``, plus images without a face; ``seed`` draws the views.

    Each identity is filmed in ``sessions`` sessions (a session is in front of a new
    background with probability ``backdrop``): one neutral frame and ``views / sessions``
    expressive frames, each with its own head pose and sensor noise. Frames are stored
    identity by identity; ``neutral`` gives the index of each frame's session neutral (the
    expression network compares a frame with it). ``negatives``: images without a face, as a
    fraction of the faces.
    """
    from tqdm.auto import tqdm

    bench, ids = train_identities(identities, offset, bench_seed)
    rng = np.random.default_rng([seed, 0x1A5])
    per_session = max(1, views // sessions)
    rows, neutral = [], []
    for index in tqdm(ids, desc="render", unit="identity", disable=not progress):
        for _ in range(sessions):
            ident = bench.identity(int(index))
            ident = new_backdrop(ident, rng) if rng.random() < backdrop else ident
            first = len(rows)
            rows.append(random_view(ident, rng, a=0.0))
            rows.extend(random_view(ident, rng) for _ in range(per_session))
            neutral.extend([first] * (per_session + 1))
    n_faces = len(rows)
    faces = [r["image"] for r in rows]
    negs = [no_face(rng, faces[int(rng.integers(n_faces))]) for _ in range(int(round(negatives * n_faces)))]
    n = n_faces + len(negs)
    pad = lambda values, shape, dtype: np.concatenate(  # noqa: E731
        [np.asarray(values, dtype=dtype), np.zeros((n - n_faces, *shape), dtype)])
    return {"frames": np.stack(faces + negs),
            "landmarks": pad([r["landmarks"] for r in rows], (68, 2), np.float32),
            "strength": pad([r["strength"] for r in rows], (len(EXPRESSIONS),), np.float32),
            "expression": pad([EXPRESSIONS.index(r["expression"]) for r in rows], (), np.int64),
            "neutral": np.concatenate([neutral, np.arange(n_faces, n)]).astype(np.int64),
            "face": np.arange(n) < n_faces,
            "per_identity": sessions * (per_session + 1), "identities": len(ids), "indices": ids}


# ---------------------------------------------------------------------------- training

def info_nce(z1: torch.Tensor, z2: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """Two views of each of B identities: each view must pick its partner among the B others."""
    logits = z1 @ z2.T / tau
    target = torch.arange(len(z1))
    return 0.5 * (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target))


def strength_loss(pred: torch.Tensor, target: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
    """L1 on the shown expression's strength plus L1 on the (zero) others, weighed equally.

    A plain L1 over all seven outputs is minimised by predicting zero everywhere (six of
    seven targets are zero), so the two parts are averaged separately.
    """
    shown = torch.zeros_like(pred, dtype=torch.bool)
    shown[torch.arange(len(pred)), expression] = True
    err = (pred - target).abs()
    return err[shown].mean() + err[~shown].mean()


def strength_objective(pred: torch.Tensor, target: torch.Tensor, expression: torch.Tensor) -> torch.Tensor:
    """What the expression network minimises: :func:`strength_loss` plus 4 x MSE.

    The L1 parts alone give sign-only gradients and the network lingers for hundreds of
    steps near "no expression anywhere"; the squared error pulls it out several times faster.
    """
    return strength_loss(pred, target, expression) + 4.0 * F.mse_loss(pred, target)


def train(data: dict, steps: int, batch: int = 128, id_batch: int = 64, other_steps: int | None = None,
          lr: float = 3e-3, seed: int = 0, progress: bool = True, networks=tuple(NETS)) -> dict:
    """Train the ``networks`` (by default all three) on a rendered :func:`training_set`; returns them (eval mode).

    The expression network trains for ``steps`` steps; the landmark and identity networks,
    which learn much faster, for the first ``other_steps`` (default: all) of them. Each group
    has its own AdamW optimiser and one-cycle learning-rate schedule. A network left out of
    ``networks`` draws no batches, so the others' batches differ from those of all three.
    """
    from tqdm.auto import tqdm

    unknown = set(networks) - set(NETS)
    if unknown or not networks:
        raise I2VError(f"networks to train: some of {', '.join(NETS)}; got {list(networks)}")
    torch.manual_seed(seed)
    rng = np.random.default_rng([seed, 0x7A1])
    other_steps = min(steps, other_steps or steps)
    nets = build()
    groups = {"expression": (["expression"], steps), "other": (["landmarks", "identity"], other_steps)}
    opts, scheds = {}, {}
    for g, (names, n) in groups.items():
        names = [k for k in names if k in networks]
        if not names:
            continue
        opts[g] = torch.optim.AdamW([p for k in names for p in nets[k].parameters()], lr=lr, weight_decay=1e-4)
        scheds[g] = torch.optim.lr_scheduler.OneCycleLR(opts[g], max_lr=lr, total_steps=n, pct_start=0.1)
    for m in nets.values():
        m.train()
    frames, neutral = data["frames"], data["neutral"]
    n_ids, per_id = data["identities"], data["per_identity"]
    lm_all = torch.from_numpy(data["landmarks"])
    st_all = torch.from_numpy(data["strength"])
    ex_all = torch.from_numpy(data["expression"])
    face_all = torch.from_numpy(data["face"])
    faces = np.flatnonzero(data["face"])
    bar = tqdm(range(steps), desc="train instruments", unit="step", disable=not progress)
    post = {}
    for step in bar:
        if "expression" in networks:
            # Expression strengths: a face and the neutral face of its session.
            idx = faces[rng.integers(len(faces), size=batch)]
            strength = nets["expression"](to_tensor(frames[idx]), to_tensor(frames[neutral[idx]]))
            loss_st = strength_objective(strength, st_all[idx], ex_all[idx])
            opts["expression"].zero_grad(set_to_none=True)
            loss_st.backward()
            opts["expression"].step()
            scheds["expression"].step()
            post["st"] = f"{loss_st.item():.3f}"
        if step < other_steps and "other" in opts:
            loss = 0
            if "landmarks" in networks:
                # Landmarks and the face score: any image, with or without a face.
                idx = rng.integers(len(frames), size=batch)
                face = face_all[idx]
                lm, logit = nets["landmarks"](to_tensor(frames[idx]))
                loss_face = F.binary_cross_entropy_with_logits(logit, face.float())
                loss_lm = F.smooth_l1_loss(lm[face], lm_all[idx][face], beta=0.5) if face.any() else lm.sum() * 0
                loss = loss + loss_lm + loss_face
                post["lm"] = f"{loss_lm.item():.2f}"
            if "identity" in networks:
                # Identity: two different frames of each of id_batch identities.
                who = rng.choice(n_ids, size=min(id_batch, n_ids), replace=False)
                pick = np.array([rng.choice(per_id, 2, replace=False) for _ in who]) + (who * per_id)[:, None]
                z = nets["identity"](to_tensor(frames[np.concatenate([pick[:, 0], pick[:, 1]])]))
                loss_id = info_nce(z[:len(who)], z[len(who):])
                loss = loss + loss_id
                post["id"] = f"{loss_id.item():.2f}"
            opts["other"].zero_grad(set_to_none=True)
            loss.backward()
            opts["other"].step()
            scheds["other"].step()
        bar.set_postfix(post, refresh=False)
    return {k: m.eval() for k, m in nets.items() if k in networks}


# ---------------------------------------------------------------------------- held-out accuracy

def assess(instrument, videos: int = 70, triplets: int = 1000, negatives: int = 200, seed: int = 0,
           bench_seed: int = 0) -> dict:
    """Accuracy of a synthetic instrument on the benchmark's TEST identities (never trained on).

    * ``landmark_error_px``: mean distance of the 68 points to the truth on the frames of
      ``videos`` test videos (64 px, head jitter, sensor noise; all expressions, neutral to peak).
    * ``triplet_accuracy``: anchor and positive are two random views (expression, intensity,
      pose) of one test identity, the negative a view of another; the share of triplets in
      which the positive is closer. Background and shirt colours alone nearly solve this, so
      ``triplet_accuracy_hard`` puts the positive in front of another background and shirt and
      the negative (another person) in front of the anchor's.
    * ``strength_mae``: visible strength r on the test videos' frames; ``intensity_mae``: the
      intensity a recovered from it with each identity's response curve (what the evaluation uses);
      ``expression_accuracy``: largest strength (at least 0.1) = true expression, on frames with r >= 0.25.
    * ``detection_rate`` on the test faces, ``false_face_rate`` on images without a face.
    """
    bench = SyntheticBenchmark(size=SIZE, seed=bench_seed)
    lm_err, st_err, a_err, hits, n_faces, n_found = [], [], [], [], 0, 0
    for i in range(videos):
        clip = bench.video("test", i)
        m = instrument.measure(clip.frames)
        n_faces += len(clip)
        n_found += int(m.face.sum())
        ok = m.face
        lm_err.extend(np.linalg.norm(m.landmarks[ok] - clip.landmarks[ok], axis=-1).mean(axis=-1))
        e = EXPRESSIONS.index(clip.expression)
        k = bench.identity(int(clip.identity)).curvature[clip.expression]
        r_true = response(clip.intensity, k)
        st_err.extend(np.abs(m.strength[ok, e] - r_true[ok]))
        a_err.extend(np.abs(inverse_response(m.strength[ok, e], k) - clip.intensity[ok]))
        strong = ok & (r_true >= 0.25)
        hits.extend(strongest_expression(m.strength[strong]) == e)

    rng = np.random.default_rng([seed, 0x3E7])
    acc = identity_accuracy(lambda frames: instrument.measure(frames).embedding, triplets, rng, bench)
    test_ids = bench.identities("test")
    faces = [random_view(bench.identity(int(i)), rng)["image"] for i in rng.choice(test_ids, negatives)]
    fakes = np.stack([no_face(rng, f) for f in faces])
    return {
        "landmark_error_px": float(np.mean(lm_err)),
        **acc,
        "strength_mae": float(np.mean(st_err)),
        "intensity_mae": float(np.mean(a_err)),
        "expression_accuracy": float(np.mean(hits)),
        "detection_rate": n_found / n_faces,
        "false_face_rate": float(instrument.measure(fakes).face.mean()),
        "held_out": {"videos": videos, "frames": n_faces, "triplets": triplets, "no_face_images": negatives,
                     "split": "test", "size": SIZE},
    }


def identity_accuracy(embed, triplets: int = 1000, rng: np.random.Generator | int = 0, bench=None) -> dict:
    """The identity part of :func:`assess` for any ``embed``, frames (N x 64 x 64 x 3 uint8) -> embeddings (N x D,
    NaN rows for frames without a face): ``triplet_accuracy``, ``triplet_accuracy_hard`` and the mean distances of
    two views of one person and of two people. ``rng``: a generator, which the draws advance, or the ``seed`` of
    :func:`assess` (the same triplets); ``bench``: the benchmark of the test identities (default seed 0)."""
    if not isinstance(rng, np.random.Generator):
        rng = np.random.default_rng([rng, 0x3E7])
    bench = SyntheticBenchmark(size=SIZE) if bench is None else bench
    test_ids = bench.identities("test")
    acc = {}
    for name in ("triplet_accuracy", "triplet_accuracy_hard"):
        hard = name.endswith("hard")
        anchors, positives, negs = [], [], []
        for i, j in (rng.choice(test_ids, 2, replace=False) for _ in range(triplets)):
            anchor = bench.identity(int(i))
            other = bench.identity(int(j))
            if hard:  # the same person in front of another backdrop, another person in front of this one
                other = replace(other, look={**other.look, "bg": anchor.look["bg"], "shirt": anchor.look["shirt"]})
            anchors.append(random_view(anchor, rng)["image"])
            positives.append(random_view(new_backdrop(anchor, rng) if hard else anchor, rng)["image"])
            negs.append(random_view(other, rng)["image"])
        za, zp, zn = (np.asarray(embed(np.stack(v))) for v in (anchors, positives, negs))
        dp, dn = np.linalg.norm(za - zp, axis=1), np.linalg.norm(za - zn, axis=1)
        ok = ~(np.isnan(dp) | np.isnan(dn))
        acc[name] = float(np.mean(dp[ok] < dn[ok])) if ok.any() else math.nan
        if not hard:
            acc["same_identity_distance"] = metrics.nanmean(dp)
            acc["other_identity_distance"] = metrics.nanmean(dn)
    return acc


# ---------------------------------------------------------------------------- one command

ASSESS = {"videos": 70, "triplets": 1000, "negatives": 200}       # what the shipped report measures
ASSESS_QUICK = {"videos": 14, "triplets": 200, "negatives": 50}


def train_instrument(out=None, quick: bool = False, seed: int = 0, progress: bool = True, command: str | None = None,
                     assess_with: dict | None = None, **overrides) -> tuple[SyntheticInstrument, dict]:
    """Render, train, save (if ``out``) and assess; returns the instrument and its report.

    ``overrides``: training settings (see :data:`FULL`); ``assess_with``: arguments of :func:`assess`.
    The report (also written as ``out`` with suffix ``.json``) holds the command, settings, wall
    times, parameter counts, the weight file's size and the held-out accuracy of the saved weights.
    """
    settings = dict(QUICK if quick else FULL)
    settings.update({k: v for k, v in overrides.items() if v is not None})
    start = time.perf_counter()
    data = training_set(settings["identities"], settings["views"], seed=seed, progress=progress)
    rendered = time.perf_counter()
    nets = train(data, settings["steps"], settings["batch"], settings["id_batch"], settings["other_steps"], seed=seed,
                 progress=progress)
    trained = time.perf_counter()
    config = {"settings": settings, "seed": seed}
    if out is not None:
        save_weights(out, nets, config)
        instrument = SyntheticInstrument.load(out)  # assess exactly what was saved (half precision)
    else:
        instrument = SyntheticInstrument(nets, config)
    assess_with = {**(ASSESS_QUICK if quick else ASSESS), **(assess_with or {})}
    report = {
        "command": command,
        "settings": settings, "seed": seed,
        "seconds": {"render": round(rendered - start, 1), "train": round(trained - rendered, 1),
                    "total": round(time.perf_counter() - start, 1)},
        "threads": torch.get_num_threads(),
        "parameters": {k: n_parameters(m) for k, m in nets.items()},
        "file_bytes": Path(out).stat().st_size if out is not None else None,
        "accuracy": assess(instrument, **assess_with),
    }
    if out is not None:
        write_json(Path(out).with_suffix(".json"), report)
    return instrument, report


def reassess(path, command: str | None = None, **assess_with) -> dict:
    """Measure saved weights again (e.g. after a change in how the instrument reads frames) and
    rewrite the accuracy in their report; the training record (command, settings, times) is kept."""
    report_path = Path(path).with_suffix(".json")
    report = json.loads(report_path.read_text()) if report_path.is_file() else {}
    report["accuracy"] = assess(SyntheticInstrument.load(path), **{**ASSESS, **assess_with})
    report["assessed_with"] = command
    write_json(report_path, report)
    return report


@command_line("instruments")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.instruments.build", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="weights file to write (a .json report goes next to it)")
    p.add_argument("--quick", action="store_true", help="a small, rough instrument in about a minute")
    p.add_argument("--identities", type=whole_number(1), help=f"train identities (default {FULL['identities']})")
    p.add_argument("--views", type=whole_number(1),
                   help=f"expressive views per identity, plus a neutral one per session (default {FULL['views']})")
    p.add_argument("--steps", type=whole_number(1), help=f"training steps (default {FULL['steps']})")
    p.add_argument("--other-steps", type=whole_number(1), dest="other_steps",
                   help=f"steps of the landmark and identity networks (default {FULL['other_steps']})")
    p.add_argument("--seed", type=whole_number(0), default=0)
    p.add_argument("--assess-only", action="store_true", dest="assess_only",
                   help="do not train: measure the weights at --out again and update their report")
    p.add_argument("--threads", type=whole_number(1), default=1,
                   help="torch CPU threads (default 1: small convolutions gain little from more, and lose much "
                        "when the cores are shared)")
    args = p.parse_args(argv)
    if not args.assess_only:
        check_output(args.out, "file")
        check_output(Path(args.out).with_suffix(".json"), "file")
    torch.set_num_threads(max(1, args.threads))
    command = "python -m i2vlib.instruments.build " + " ".join(argv if argv is not None else sys.argv[1:])
    if args.assess_only:
        report = reassess(args.out, command)
        print(json.dumps(report["accuracy"], indent=1))
        return 0
    _, report = train_instrument(args.out, quick=args.quick, seed=args.seed, identities=args.identities,
                                 views=args.views, steps=args.steps, other_steps=args.other_steps, command=command)
    print(json.dumps({k: report[k] for k in ("seconds", "parameters", "file_bytes", "accuracy")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
