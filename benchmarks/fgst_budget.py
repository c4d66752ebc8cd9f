"""FGST as released, trained far past the comparison table's budget: at what budget does it render a face here?

    python benchmarks/fgst_budget.py train --seed S --steps N --run DIR
    python benchmarks/fgst_budget.py score --runs DIR [DIR ...] [--out i2vlib/studies/fgst_budget.json]
    python benchmarks/fgst_budget.py frames --run DIR [--steps ...] [--out i2vlib/studies/fgst_budget.png]
    python benchmarks/fgst_budget.py choose --runs DIR [DIR ...] [--out i2vlib/studies/fgst_multiple.json]
    python benchmarks/fgst_budget.py record --runs DIR [DIR ...]

The question, asked when these runs started (the first seed continues an 8x probe whose check had passed): FGST as
released (:mod:`i2vlib.models.fgst`, ``design="released"``) fails the ``face_psnr`` health check at the ladder's
rungs (1x, 4x), so AffineGAN's claims against it are "not tested". Is that its budget (the released schedule is
1.25M steps per phase; the ladder's 1x is 1000) or its design on this benchmark (flow2rgb repaints every frame from
the one before through an encoder-decoder without skips)? The answer is read off the same check, at every kept step
of two seeds trained to up to 40x the table's 1x budget, and off what each phase has learned:

* ``face_psnr``: the check itself, PSNR of the video to the truth by the table's protocol
  (:func:`i2vlib.evaluate.ablation.arm_scores` on the 12 unseen happy test videos; the bound, a blank frame's, is
  :data:`i2vlib.claims.health.BLANK_FRAME_PSNR`);
* ``rolled``: PSNR of each of the 8 frames to the truth on the same test faces, flow2rgb chained from the input
  (``test.lua``) over three sets of flows: the 3D-cVAE's (``predicted``: what the model renders), the true
  consecutive flows (``true``: a perfect first phase) and zero flows (``none``: flow2rgb repainting a still frame);
  ``copy`` is the input itself at every frame;
* ``undetected``: the share of generated frames in which the benchmark's instrument finds no face (the protocol's
  ``undetected_rate``; the true videos': 0), by the same protocol;
* ``flow``: the mean absolute consecutive flow in pixels, predicted and true;
* ``mse`` and ``kl``: flow2rgb's training loss (grey levels squared, one pass on a real frame) and the 3D-cVAE's KL
  term (summed over z and the batch), each the mean of the 500 steps before each kept step.

``train`` trains one seed of the table's FGST arm (``ablations.arm_configs("affinegan-baselines")``) with
``--steps`` steps, keeping the generator at the steps of :data:`KEPT` it reaches; it resumes an interrupted run (a
run of fewer steps continues to more: the learning rate is constant). ``score`` writes the JSON the Baselines
chapter reads; ``frames`` the picture it shows (the second test face, the one of the records' strips: the truth,
then at each kept step the frames rendered over the predicted flows, every other frame, one 64-px frame to 2 x 2
screen pixels).
These two runs' questions were asked at the table's budget; the table now trains FGST's arm at 16 times it
(:data:`i2vlib.protocol.tables.OWN_BUDGET`, from what they found, then by the rule below). ``record`` makes the
arm's records from runs of this script: each run's generator kept at the arm's steps at a rung of the ladder (16000
steps at the first, 64000 at the second) is recorded as that rung's run of its seed, measured as the recording queue
measures it, with the loss log and training time up to that step. A generator kept at step N of a longer run is the
generator of the run of N steps, since FGST's learning rate is constant (``decay_from`` 1) and nothing else reads the
number of steps: checked on seed 1, whose 1000-step run and the generator its 40000-step run kept at 1000 are equal
tensor for tensor.

At 8 times the budget the first rung's arm was unhealthy: 3 of 5 seeds pass ``face_psnr`` (seeds 2 and 4 score 16.07 and
16.16 dB against 16.5). The rule for the next multiple, written on 2026-11-29 before any generator of seeds 2, 3 or 4
past 8000 steps had been measured, bar one: of 12 and then 16 times the budget, the smallest at which at least 80 % of
the first rung's five seeds pass every check that gates, as the checks and bounds stand (``face_psnr``, ``moves``,
``identity``). Known then: seeds 0 and 1 pass at both (the study's JSON), and seed 2 at 16000 steps (17.11 dB: a probe
of seeds 0-2 at 16000 finished as the rule was being written); nothing of seeds 3 and 4, nor of seed 2 at 12000. The
second rung is recorded at the chosen multiple and reported as it comes out: it does not choose it. ``choose``
applies the rule: it measures every first-rung seed's generator kept at each of :data:`CANDIDATES` times the budget,
as ``record`` would, and writes each seed's checks, the healthy seeds per multiple and the multiple the rule picks
(the JSON the Baselines chapter reads; ``tests/test_records.py`` holds :data:`~i2vlib.protocol.tables.OWN_BUDGET`
to it)."""

from __future__ import annotations

import sys
from pathlib import Path

import matplotlib
import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from i2vlib import metrics  # noqa: E402
from i2vlib.checkpoint import CHECKPOINT, read_checkpoint  # noqa: E402
from i2vlib.claims.health import BLANK_FRAME_PSNR, HEALTHY_SHARE, record_health  # noqa: E402
from i2vlib.errors import ArgumentParser, I2VError  # noqa: E402
from i2vlib.evaluate.ablation import arm_scores  # noqa: E402
from i2vlib.evaluate.measures import test_clips  # noqa: E402
from i2vlib.evaluate.protocol import evaluate  # noqa: E402
from i2vlib.io import write_json  # noqa: E402
from i2vlib.models.fgst_parts import consecutive_flows  # noqa: E402
from i2vlib.outputs import atomic_path  # noqa: E402
from i2vlib.models import full_config  # noqa: E402
from i2vlib.records import store  # noqa: E402
from i2vlib.records.ablations import arm_configs, measure_options, pictured_keys  # noqa: E402
from i2vlib.protocol.tables import BUDGET, LADDER, MEASURE  # noqa: E402
from i2vlib.run_files import SNAPSHOTS, kept_snapshots, read_run, snapshot_path  # noqa: E402
from i2vlib.runs import load, read_losses, train  # noqa: E402

TABLE = "affinegan-baselines"
KEPT = (1000, 2000, 4000, 8000, 12000, 16000, 20000, 24000, 32000, 40000, 48000, 64000)
FLOWS = ("predicted", "true", "none")
SHOWN = [1, 3, 5, 7]          # the frames the picture shows: 2, 4, 6 and 8 of 8
CANDIDATES = (8, 12, 16)      # FGST's budget multiples in the order they were tried (8 first, then the rule's two)


TABLE_STEPS = BUDGET[TABLE]["book"]["steps"]      # the table's budget, its first rung: 1x


def config(seed: int, steps: int | None = None) -> dict:
    """The table's FGST arm (FGST as released) at ``seed``, trained for ``steps`` steps (None: the table's 1x)."""
    return {**arm_configs(TABLE, "book", ["fgst"], seeds=[seed])["fgst"][0], "steps": steps or TABLE_STEPS}


def snapshots(run: Path) -> dict[int, Path]:
    """The kept generators of a run, by step; a folder with none is an error."""
    kept = kept_snapshots(run)
    if not kept:
        raise I2VError(f"{run} holds no kept generator ({SNAPSHOTS}/step-N.pt): train it first with this script's "
                       "train command")
    return kept


def still_kept(run: Path, steps: int) -> list[int]:
    """The steps of :data:`KEPT` up to ``steps`` at which the run in ``run`` keeps its generator: all of them for a
    new run; for one resumed, those past the step it resumes from and those it kept (a run begun when
    :data:`KEPT` was shorter cannot go back for the steps added since)."""
    ckpt = run / CHECKPOINT
    start = read_checkpoint(ckpt)["step"] if ckpt.exists() else 0
    return [s for s in KEPT if s <= steps and (s > start or snapshot_path(run, s).exists())]


def tensor(frames: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2).float() / 127.5 - 1


def image(x: torch.Tensor) -> np.ndarray:
    return ((x.clamp(-1, 1) + 1) * 127.5).round().byte().permute(0, 2, 3, 1).numpy()


def nine(clip) -> np.ndarray:
    """A clip resampled to 9 frames, the input first (AffineGAN §4.1.1), as the model's ``supported_intensities``."""
    return clip.frames[np.linspace(0, len(clip.frames) - 1, 9).round().astype(int)]


def rolled(model, clips) -> dict:
    """Per frame, the mean PSNR to the truth of flow2rgb chained over each of :data:`FLOWS`, and of the input."""
    g = model.net
    out = {k: [] for k in (*FLOWS, "copy")}
    flow = {"predicted": [], "true": []}
    with torch.no_grad():
        for clip in clips:
            video = nine(clip)
            i0, truth = tensor(video[:1]), video[1:]
            true = torch.from_numpy(consecutive_flows(video))[None]
            predicted = g.predictor(i0, g.z)
            for name, f in (("predicted", predicted), ("true", true), ("none", torch.zeros_like(true))):
                made = image(g.renderer.roll(i0, f)[0])
                out[name].append([metrics.psnr(made[t:t + 1], truth[t:t + 1]) for t in range(len(truth))])
            out["copy"].append([metrics.psnr(video[:1], truth[t:t + 1]) for t in range(len(truth))])
            flow["predicted"].append(float(predicted.abs().mean()))
            flow["true"].append(float(true.abs().mean()))
    return ({k: np.round(np.mean(v, 0), 2).tolist() for k, v in out.items()},
            {k: round(float(np.mean(v)), 4) for k, v in flow.items()})


def score(run: Path) -> dict:
    """Every kept step of ``run``: the check's PSNR, the rolled PSNRs, the flows and the training loss."""
    losses = read_losses(run)
    steps = np.array([r["step"] for r in losses])
    mse, kl = np.array([r["mse"] for r in losses]), np.array([r["kl"] for r in losses])
    rows = []
    for step, path in snapshots(run).items():
        model = load(path)
        clips = test_clips(model, "linear", n=measure_options(TABLE, "book")["videos"], frames=16, seed=0,
                           expressions=["happy"])
        psnr, flow = rolled(model, clips)
        value = arm_scores(model, **measure_options(TABLE, "book"))
        seen = evaluate(model, videos=len(clips), seed=0, expressions=["happy"], per_video=False, progress=False)
        window = (steps > step - 500) & (steps <= step)
        rows.append({"step": step, "face_psnr": round(float(value["psnr"]), 2),
                     "undetected": round(float(seen["scores"]["undetected_rate"]), 3), "rolled": psnr, "flow": flow,
                     "mse": round(float(mse[window].mean()), 1), "kl": round(float(kl[window].mean()), 4)})
        print(run.name, rows[-1]["step"], rows[-1]["face_psnr"], flush=True)
    return {"seed": int(load(next(iter(snapshots(run).values()))).config["seed"]), "steps": rows}


def check_arm(run: Path, trained: dict, cfg: dict) -> None:
    """An error unless ``run`` (its config ``trained``) is a run of the arm's config ``cfg`` but for its steps."""
    if full_config({**trained, "steps": cfg["steps"]}) != full_config(cfg):
        raise I2VError(f"{run} is not a run of the table's FGST arm as it stands")


def scored(kept: dict[int, Path], rows: list[dict], steps: int) -> tuple[dict, list[dict]]:
    """The generator kept at ``steps`` measured as the recording queue measures the table's arms, and the loss log
    ``rows`` up to that step."""
    return arm_scores(load(kept[steps]), **measure_options(TABLE, "book")), [r for r in rows if r["step"] <= steps]


def measured_at(run: Path, steps: int) -> dict:
    """The health (:func:`i2vlib.claims.health.record_health`) of ``run``'s generator kept at ``steps``, measured as
    ``record`` measures a rung's run."""
    trained, kept = read_run(run)["config"], snapshots(run)
    check_arm(run, trained, config(trained["seed"], steps))
    if steps not in kept:
        raise I2VError(f"{run} kept no generator at {steps} steps: train it that far with this script's train command")
    value, upto = scored(kept, read_losses(run), steps)
    return record_health({"config": {**trained, "steps": steps}, "value": value, "losses": store.thin_losses(upto)},
                         MEASURE[TABLE])


def choose(runs: list[Path]) -> dict:
    """The rule of this module's docstring on the first rung's seeds (one run each): per seed and multiple of
    :data:`CANDIDATES`, every check's value and whether the seed is healthy; ``chosen``: the smallest multiple at
    which at least :data:`~i2vlib.claims.health.HEALTHY_SHARE` of the seeds are healthy (None if none)."""
    by_seed = {int(read_run(r)["config"]["seed"]): r for r in runs}
    first = sorted(dict(LADDER[TABLE])[1])
    if sorted(by_seed) != first:
        raise I2VError(f"choose needs one run of each first-rung seed {first}; got seeds {sorted(by_seed)}")
    seeds = {}
    for seed, run in sorted(by_seed.items()):
        seeds[seed] = {}
        for m in CANDIDATES:
            h = measured_at(run, m * TABLE_STEPS)
            seeds[seed][m] = {"checks": {k: round(float(v["value"]), 3) for k, v in h["checks"].items()},
                              "failed": h["failed"], "healthy": h["healthy"]}
            print(f"seed {seed} at {m}x: {'healthy' if h['healthy'] else 'fails ' + ', '.join(h['failed'])}",
                  flush=True)
    healthy = {m: sum(seeds[s][m]["healthy"] for s in seeds) for m in CANDIDATES}
    chosen = next((m for m in CANDIDATES if healthy[m] >= HEALTHY_SHARE * len(seeds)), None)
    return {"table_steps": TABLE_STEPS, "candidates": list(CANDIDATES), "share": HEALTHY_SHARE,
            "seeds": seeds, "healthy": healthy, "chosen": chosen}


def record(run: Path) -> list[str]:
    """Record ``run``'s generators kept at the steps of FGST's arm at each rung of the ladder whose seeds hold the
    run's seed; returns the keys recorded now (a rung already recorded is left as it is)."""
    trained, kept, options = read_run(run)["config"], snapshots(run), measure_options(TABLE, "book")
    if trained["decay_from"] < 1:
        raise I2VError(f"{run} decays its learning rate: a generator it kept is not that of a shorter run")
    known, pictured, rows, done = store.read(), pictured_keys(), read_losses(run), []
    for multiple, seeds in LADDER[TABLE]:
        if trained["seed"] not in seeds:
            continue
        (cfg,) = arm_configs(TABLE, "book", ["fgst"], seeds=[trained["seed"]], multiple=multiple)["fgst"]
        check_arm(run, trained, cfg)
        key = store.key(cfg, MEASURE[TABLE], **options)
        if key in known or cfg["steps"] not in kept:
            continue
        value, upto = scored(kept, rows, cfg["steps"])
        value = store.encode(value)
        if key not in pictured:
            value = {k: v for k, v in value.items() if not store.holds_picture(v)}
        store.write_record(store.RECORDS, key, {"config": full_config(cfg), "value": value,
                                                "seconds": round(float(upto[-1]["seconds"]), 2),
                                                "losses": store.thin_losses(upto)})
        print(f"recorded {key} from {run.name} at {cfg['steps']} steps", flush=True)
        done.append(key)
    if not done:
        print(f"nothing recorded from {run.name}: its rungs are recorded, or it kept no generator at their steps",
              flush=True)
    return done


def frames(run: Path, steps, out: Path) -> None:
    kept = snapshots(run)
    steps = [s for s in (steps or kept) if s in kept]
    model = load(kept[steps[0]])
    clips = test_clips(model, "linear", n=2, frames=16, seed=0, expressions=["happy"])
    video = nine(clips[1])                                   # the face of the records' strips
    rows, labels = [np.concatenate(list(video[1:][SHOWN]), 1)], ["truth"]
    for s in steps:
        model = load(kept[s])
        rows.append(np.concatenate(list(model.generate(video[0], model.supported_intensities)[SHOWN]), 1))
        labels.append(f"{s} steps")
    grid = np.concatenate(rows, 0)
    size, margin = video.shape[1], 110                       # one 64-px frame to 2 x 2 screen pixels
    w, h = 2 * grid.shape[1] + margin, 2 * grid.shape[0] + 30
    fig = plt.figure(figsize=(w / 100, h / 100), dpi=100)
    ax = fig.add_axes([margin / w, 0, 1 - margin / w, 1 - 30 / h])
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([size * (i + 0.5) for i in range(len(labels))], labels)
    ax.set_xticks([size * (i + 0.5) for i in range(len(SHOWN))], [f"frame {i + 1}" for i in SHOWN])
    ax.xaxis.tick_top()
    ax.tick_params(length=0)
    for side in ax.spines.values():
        side.set_visible(False)
    with atomic_path(out) as tmp:
        fig.savefig(tmp, dpi=100, format="png", pil_kwargs={"optimize": True})
    plt.close(fig)


def main() -> None:
    ap = ArgumentParser(prog="fgst_budget.py", description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train")
    t.add_argument("--seed", type=int, required=True)
    t.add_argument("--steps", type=int, required=True)
    t.add_argument("--run", type=Path, required=True)
    s = sub.add_parser("score")
    s.add_argument("--runs", type=Path, nargs="+", required=True)
    s.add_argument("--out", type=Path, default=ROOT / "i2vlib" / "studies" / "fgst_budget.json")
    c = sub.add_parser("choose")
    c.add_argument("--runs", type=Path, nargs="+", required=True)
    c.add_argument("--out", type=Path, default=ROOT / "i2vlib" / "studies" / "fgst_multiple.json")
    r = sub.add_parser("record")
    r.add_argument("--runs", type=Path, nargs="+", required=True)
    f = sub.add_parser("frames")
    f.add_argument("--run", type=Path, required=True)
    f.add_argument("--steps", type=int, nargs="*")
    f.add_argument("--out", type=Path, default=ROOT / "i2vlib" / "studies" / "fgst_budget.png")
    args = ap.parse_args()
    torch.set_num_threads(1)
    try:
        run(args)
    except I2VError as e:
        raise SystemExit(f"fgst_budget.py: {e}") from None


def run(args) -> None:
    if args.command == "train":
        train(config(args.seed, args.steps), args.run, resume=True, device="cpu", progress=False,
              snapshots=still_kept(args.run, args.steps))
    elif args.command == "score":
        result = {"bound": BLANK_FRAME_PSNR, "table_steps": TABLE_STEPS,
                  "runs": [score(r) for r in args.runs]}
        write_json(args.out, result)
    elif args.command == "choose":
        write_json(args.out, choose(args.runs))
    elif args.command == "record":
        for r in args.runs:
            record(r)
    else:
        frames(args.run, args.steps, args.out)


if __name__ == "__main__":
    main()
