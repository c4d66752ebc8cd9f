"""The engine of the book's recipe studies: arms -> configs -> runs -> scored snapshots -> records -> a decision.

A :class:`Study` declares its arms (each a change to a base recipe), its seeds, its budget, the snapshot steps at
which its runs are scored, how a checkpoint is scored (on *validation* identities: a recipe choice never looks at the
test identities the book reports), and the rule that decides, fixed in its docstring before the runs. :func:`record`
trains the runs (:func:`i2vlib.runs.cached_runs`, one-thread processes side by side, resumable), scores each snapshot
once (a recorded step keeps its scores while its run's config is unchanged) and writes one record per run into the
study's folder with the comparisons' store (:func:`i2vlib.records.store.write_record`: one compact JSON file per run,
keyed by its config hash, so recording a seed adds a file and rewrites none); :func:`results` reads them; the study's
``decide`` applies its rule to the results.

A run's record is keyed ``<method>-<config hash>/<study>.<arm>@<version>`` (:func:`key`), its value
``{"arm", "seed", "config_hash", "amp", "finished", "seconds", "curve": {step: scores}}`` and what the study's
``fields(arm, config)`` adds (the capacity study: the config; the refinement study: the arm's weight); an arm trained
under another precision (``amp``) keeps its runs under a root of its own, since the precision is not part of a config.
A study that stands on the zoo (``use_zoo``: the refinement study, whose G_R trains on the zoo's frozen G_M) takes an
earlier stage, or an arm's whole run, from the zoo's file trained with the same config instead of training it
(:func:`i2vlib.runs.locate`); such an arm's last step is that file's.

The studies declared on it are in :mod:`i2vlib.studies`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch

from ..checkpoint import read_checkpoint
from ..config import config_hash
from ..errors import ArgumentParser, check_names, run_command, whole_number
from ..evaluate import evaluate, test_clips
from ..evaluate.measures import texture_at
from ..metrics import floats, nanmean, spearman
from ..models import full_config, get_method
from ..run_files import kept_snapshots
from ..runs import cached_runs, is_finished, locate, run_dir
from . import store

VALIDATION_VIDEOS = 12
VERSION = 1          # of a study record's layout (:func:`key`); raised when the engine changes what a record holds


@dataclass(frozen=True)
class Arm:
    """One arm: ``change`` to the study's base recipe, what it is (``about``), the precision it trains in, and the
    method it trains where a study's arms train several (the capacity study)."""

    change: dict
    about: str
    amp: str = "off"
    method: str | None = None


@dataclass(frozen=True)
class Study:
    """A recipe study (see the module's docstring). ``folder`` holds its records; ``config(arm, seed)`` builds a
    run's full config; ``score`` scores one checkpoint (a dict read by :func:`i2vlib.checkpoint.read_checkpoint`);
    ``fields(arm, config)``, what a record keeps beside the engine's fields; ``use_zoo``, whether the zoo's files
    stand in for runs."""

    name: str
    folder: Path
    arms: Mapping[str, Arm]
    seeds: tuple[int, ...]
    config: Callable[[str, int], dict]
    score: Callable[[dict], dict]
    snapshots: tuple[int, ...] = ()
    root: str = "_build"
    about: str = ""
    fields: Callable[[str, dict], dict] | None = None
    use_zoo: bool = False

    def check_arms(self, arms) -> list[str]:
        return list(check_names(list(arms), tuple(self.arms), f"{self.name} arm"))

    def where(self, arm: str, root: str | None = None) -> str:
        base = root or f"{self.root}/{self.name}"
        return base if self.arms[arm].amp == "off" else f"{base}-{self.arms[arm].amp}"


def validation_scores(model, videos: int = VALIDATION_VIDEOS) -> dict:
    """What a recipe choice reads of a model, on ``videos`` videos of the benchmark's *validation* identities (never
    the test identities the book reports): ``texture_at`` a = 0, 0.5, 1 (:func:`i2vlib.evaluate.measures.texture_at`)
    and the ``texture_error``, the largest distance of the three from the truth's 1; the protocol's ``texture``,
    ``strength`` at the peak and ``acd_i_ratio`` (ACD-I over the true videos'); and for a model that infers
    intensities (AffineGAN's Eq. 5) ``rho_linear``, the mean per-video Spearman rho with the true intensity."""
    r = evaluate(model, split="val", videos=videos, seed=0, per_video=False, progress=False)
    s, ref = r["scores"], r["reference"]
    clips = test_clips(model, n=videos, frames=16, seed=0, split="val")
    at = texture_at(model, clips)
    out = {"texture_at": at, "texture_error": max(abs(v - 1) for v in at.values()), "texture": floats(s["texture"]),
           "strength": floats(s["strength"]), "acd_i_ratio": floats(s["acd_i"]) / floats(ref["acd_i"])}
    if hasattr(model, "infer_intensity"):
        out["rho_linear"] = nanmean([spearman(c.intensity, model.infer_intensity(
            c.frames[0], c.frames, expression=c.expression)) for c in clips])
    return out


def shipped_generator(ckpt: dict):
    """The model of a checkpoint or snapshot as it would ship: its generator's moving average where it kept one."""
    method = get_method(ckpt["method"])
    key = "generator_ema" if "generator_ema" in ckpt["weights"] else "generator"
    config = full_config(ckpt["config"], where=ckpt.get("path", "checkpoint"))
    return method.Model.from_checkpoint({**ckpt, "config": config, "weights": {"generator": ckpt["weights"][key]}})


def key(study: Study, arm: str, config: dict) -> str:
    """The record key of ``arm``'s run of ``config`` in ``study``."""
    full = full_config(config)
    return f"{full['method']}-{config_hash(full)}/{study.name}.{arm}@{VERSION}"


def _records(study: Study) -> dict:
    """``{key: record}`` of ``study``'s records in its folder (the folder may hold other studies' too)."""
    return {k: r for k, r in store.read(study.folder).items()
            if k.partition("/")[2].startswith(f"{study.name}.") and k.endswith(f"@{VERSION}")}


def results(study: Study) -> dict:
    """The recorded runs of ``study``, ``{"ARM/SEED": value}`` (``{}`` before any)."""
    out = {f"{r['value']['arm']}/{r['value']['seed']}": r["value"] for r in _records(study).values()}
    return dict(sorted(out.items()))


def record(study: Study, arms=None, root: str | None = None, workers: int | None = None, train: bool = True,
           progress: bool = True, seeds=None) -> dict:
    """Train (or resume) ``arms`` (default: all) for every seed, score their snapshots and last steps, and write each
    run's record (:func:`key`; it replaces the record of an earlier config of the same arm and seed); returns the
    study's :func:`results`. ``train=False`` scores what the runs hold now (an unfinished run is recorded with
    ``"finished": false``). A run the zoo ships (``study.use_zoo``) is recorded finished, its last step read from the
    zoo's file."""
    arms = study.check_arms(arms or list(study.arms))
    seeds = tuple(study.seeds if seeds is None else seeds)
    if train:
        for amp in dict.fromkeys(study.arms[a].amp for a in arms):    # side by side, seed by seed
            group = [a for a in arms if study.arms[a].amp == amp]
            cached_runs([study.config(a, s) for s in seeds for a in group], root=study.where(group[0], root),
                        device="cpu", workers=workers, snapshots=study.snapshots, use_zoo=study.use_zoo, amp=amp)
    out, known_records = results(study), _records(study)
    for arm in arms:
        for seed in seeds:
            cfg, name, where = study.config(arm, seed), f"{arm}/{seed}", study.where(arm, root)
            run, shipped = run_dir(cfg, where), locate(cfg, where, study.use_zoo)
            shipped = shipped if shipped.is_file() else None      # the zoo's file of cfg, where the study reads it
            if not ((run / "checkpoint.pt").is_file() or shipped):
                continue
            known = out.get(name, {})
            curve = dict(known.get("curve", {})) if known.get("config_hash") == config_hash(cfg) else {}
            files = list(kept_snapshots(run).values())
            finished = is_finished(run) or shipped is not None
            if finished:
                files.append(shipped or run / "checkpoint.pt")
            for file in files:
                ckpt = read_checkpoint(file)
                if str(ckpt["step"]) not in curve:     # a recorded step keeps its scores
                    if progress:
                        print(f"  {study.name} {name}: scoring step {ckpt['step']}", flush=True)
                    curve[str(ckpt["step"])] = study.score(ckpt)
            info = run / "run.json"
            seconds = float(json.loads(info.read_text())["seconds"]) if info.is_file() else known.get("seconds")
            out[name] = {"arm": arm, "seed": seed, **(study.fields(arm, cfg) if study.fields else {}),
                         "config_hash": config_hash(cfg), "amp": study.arms[arm].amp, "finished": finished,
                         "seconds": seconds, "curve": dict(sorted(curve.items(), key=lambda kv: int(kv[0])))}
            new = key(study, arm, cfg)
            store.write_record(study.folder, new, {"config": full_config(cfg), "value": out[name]})
            for old, rec in known_records.items():                 # the run of an earlier config of this arm/seed
                if old != new and rec["value"]["arm"] == arm and rec["value"]["seed"] == seed:
                    store.remove_record(study.folder, old)
    return dict(sorted(out.items()))


def last_scores(records: Mapping, arm: str, step: int) -> list[dict]:
    """The scores at ``step`` of every recorded seed of ``arm`` that reached it."""
    return [r["curve"][str(step)] for r in records.values() if r["arm"] == arm and str(step) in r["curve"]]


def run_study(study: Study, argv=None) -> int:
    """The command line of a study, which its module's ``main(argv)`` runs: ``python -m i2vlib.studies.NAME [ARM ...]
    [--root DIR] [--workers N] [--seeds S ...] [--no-train]``; bad input is one line and exit status 2."""
    return run_command(study.name, _run_study, study, argv)


def _run_study(study: Study, argv) -> int:
    p = ArgumentParser(prog=f"python -m i2vlib.studies.{study.name}", description=study.about)
    p.add_argument("arms", nargs="*", help=f"arms to record (default: all of {', '.join(study.arms)})")
    p.add_argument("--root", default=None, help=f"where the runs live (default {study.root}/{study.name})")
    p.add_argument("--workers", type=whole_number(1), default=None, help="parallel trainings (default: one per core)")
    p.add_argument("--seeds", type=whole_number(0), nargs="+", default=None,
                   help=f"seeds to record (default: {' '.join(map(str, study.seeds))})")
    p.add_argument("--no-train", action="store_true", help="score what the runs hold now; train nothing")
    args = p.parse_args(argv)
    start = time.perf_counter()
    if args.workers == 1:
        torch.set_num_threads(1)      # one run at a time in this process: one thread, as every study run trains
    record(study, args.arms or None, args.root, args.workers, train=not args.no_train, seeds=args.seeds)
    print(f"{study.name}: recorded in {study.folder} after {(time.perf_counter() - start) / 60:.1f} min")
    return 0
