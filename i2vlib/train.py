"""The one training loop, shared by every method.

A method supplies a ``Trainer`` (a :class:`~i2vlib.models.gan.GANTrainer`: networks ``nets``,
``optimizers``, ``schedulers``, a ``sample(rng)`` sampler and one ``step(batch, autocast)``);
:func:`train` does the rest:
device, seeds, bf16 autocast on CUDA, optional ``torch.compile``, progress, the loss log,
atomic checkpoints every N steps, resume, and stopping on a non-finite loss.

The loop reads the losses back from the device once every :data:`LOG_EVERY` steps (and before every
checkpoint, which is never written after a non-finite loss), not after every step, and keeps the memory a
step frees for the next (:func:`resident_heap`): neither changes a single number of the run.

Batches are drawn from ``numpy.random.default_rng([seed, step])``, and the torch RNG state
is saved in every checkpoint, so a resumed run continues exactly as an uninterrupted one.

Started by ``torchrun --nproc_per_node=N`` the same call trains on N processes (N GPUs, or CPUs):
each draws its share of the batch from ``default_rng([seed, step, rank])``, the gradients are
averaged before every optimiser step, and rank 0 alone writes the run directory
(:mod:`i2vlib.distributed`).

A run directory (:mod:`i2vlib.run_files`: its check and lock, checkpoints, snapshots, loss log and run.json)::

    RUN_DIR/checkpoint.pt   weights, config, optimiser/scheduler/RNG state (i2vlib.checkpoint)
    RUN_DIR/losses.csv      one row per step: step, seconds, one column per loss term
    RUN_DIR/run.json        method, config, progress, timings (rewritten at every checkpoint)

While a process trains into a run directory it holds it (:func:`~i2vlib.run_files.run_lock`): a second training started
into the same directory, new or resumed, is refused in one line instead of both writing there and reporting success.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import math
import time
from pathlib import Path

import torch

from . import checkpoint, distributed
from .config import config_hash, resolve_device
from .errors import I2VError
from .io import write_json
from .models import full_config, get_method
from .outputs import make_folders, remove_created
from .run_files import (RUN_FILES, _check_run_dir, _devices, _LossLog, _NoLog, _restore, _save, _snapshot, _stamp,
                        read_run, run_lock, snapshot_path)
from .version import __version__

AMP = ("auto", "off", "bf16", "fp16")
LOG_EVERY = 50   # steps whose losses are read back from the device, checked and logged at once


class NonFiniteLoss(I2VError):
    """A loss became NaN or infinite; the run stopped and kept its last good checkpoint."""


def train(config: dict, out, resume: bool = False, device: str = "auto", compile: bool = False,
          progress: bool = True, checkpoint_every: int | None = None, snapshots=(), amp: str = "auto",
          channels_last: bool | None = None, frozen: dict | None = None, fused_adam: bool = False) -> dict:
    """Train ``config["method"]`` to ``config["steps"]`` steps into run directory ``out``.

    ``resume=True`` continues from ``out/checkpoint.pt`` (or starts afresh if there is none);
    ``resume=False`` refuses a directory that already holds a run. The number of steps may
    grow on resume; every other option must match the checkpoint's. Returns ``run.json``.

    ``snapshots``: steps at which the generator is also kept, as ``out/snapshots/step-N.pt``
    (a checkpoint that :func:`i2vlib.load` reads): the points of a learning curve.

    ``amp``: mixed precision, ``off``, ``bf16``, ``fp16`` (with a gradient scaler) or ``auto``
    (:func:`resolve_amp`); ``channels_last`` (default: on CUDA) stores images and weights NHWC;
    ``fused_adam`` steps each optimiser with one fused kernel (:meth:`~i2vlib.models.gan.GANTrainer.fuse_adam`:
    the same update, rounded differently, so off by default). None is part of the config: a run may resume
    under other settings.

    ``frozen``: ``{net: generator weights}`` of the earlier runs a staged method freezes (FRGAN's G_R
    trains on a frozen G_M); a new run of such a method needs them. :func:`i2vlib.runs.train` fetches
    them from the run store, so that is what to call for such a config.

    Under ``torchrun`` (``WORLD_SIZE`` > 1) every process runs this call: each trains on
    ``batch / WORLD_SIZE`` examples (a batch that does not split is an error before any work) and only
    rank 0 writes ``out``; a run may resume under another number of processes.

    The config, the device, the data and ``out`` are checked before anything is written; a run
    that fails or is interrupted before its first checkpoint leaves nothing behind (and a folder
    holding only such leftovers of an older version counts as empty).
    """
    method = get_method(config.get("method", "?"))
    config = full_config(config)
    ctx = distributed.context()
    part = distributed.share(config, ctx.world)
    device = distributed.device(torch.device(resolve_device(device)), ctx)
    runtime = {"amp": resolve_amp(amp, device), "compile": compile,
               "channels_last": device.type == "cuda" if channels_last is None else bool(channels_last),
               "fused_adam": bool(fused_adam)}
    out = Path(out)
    _check_run_dir(out, resume)
    seen = _stamp(out / checkpoint.CHECKPOINT)  # the checkpoint as checked (none: a new run), whatever comes later
    joined = distributed.start(ctx, device)   # every rank has checked out before rank 0 writes in it
    try:
        info = _train(method, config, out, ctx, part, device, runtime, progress, checkpoint_every, snapshots,
                      frozen or {}, seen)
        distributed.barrier(ctx)              # rank 0's last checkpoint is written before any rank reads it
    finally:
        distributed.stop(joined)
    return info


def _train(method, config, out, ctx, part, device, runtime, progress, checkpoint_every, snapshots, frozen,
           seen) -> dict:
    """:func:`train` once the run directory is checked (and the process group joined); ``seen``: the checkpoint's
    stamp when it was checked (None: a new run, even if another process writes one meanwhile, which the lock's
    check below then refuses)."""
    ckpt_file = out / checkpoint.CHECKPOINT
    torch.manual_seed(config["seed"])
    trainer = method.Trainer(config)
    trainer.cfg["batch"] = part            # this process's share of the batch (all of it with one process)
    start, elapsed = _restore(trainer, config, ckpt_file, ctx) if seen is not None else (0, 0.0)
    total = config["steps"]
    if start > total:
        raise I2VError(f"the run in {out} is at step {start}: {total} steps would not train it; give more steps than "
                       f"{start}, or none to keep its own")
    late = sorted(s for s in snapshots if int(s) > total)
    if late:
        raise I2VError(f"snapshot step(s) {', '.join(map(str, late))} lie beyond the run's {total} steps")
    past = sorted(s for s in snapshots if int(s) <= start and not snapshot_path(out, s).exists())
    if past:
        raise I2VError(f"snapshot step(s) {', '.join(map(str, past))} lie before the step the run in {out} resumes "
                       f"from ({start}), so they cannot be taken; ask for later ones")
    missing = sorted(set(trainer.stages) - set(frozen)) if start == 0 else []
    if missing:
        raise I2VError(f"a new {config['method']} run trains on the frozen {', '.join(missing)} of an earlier run: "
                       "train it with i2vlib.runs.train (or i2v train), which fetches that run")
    first = (trainer.sample(distributed.batch_rng(config["seed"], start, ctx))  # checks the data
             if start < total else None)
    created = make_folders(out) if ctx.main else []
    with run_lock(out, created) if ctx.main else contextlib.nullcontext():
        if ctx.main and _stamp(ckpt_file) != seen:
            remove_created(created)
            raise I2VError(f"{out} changed while this run started (another process wrote a checkpoint there); "
                           "run the command again")
        try:
            if start == 0:
                trainer.begin(frozen)
                if ctx.active:
                    distributed.seed_torch(config["seed"], 0, ctx)
            info = _loop(trainer, config, out, start, elapsed, first, device, runtime, progress, checkpoint_every,
                         {int(s) for s in snapshots}, ctx)
        except BaseException:
            if ctx.main and not ckpt_file.exists():   # nothing worth keeping: leave no trace of this run
                for name in (*RUN_FILES, *(p.name for p in out.glob(f".{checkpoint.CHECKPOINT}.*"))):
                    (out / name).unlink(missing_ok=True)
                remove_created(created)
            raise
        if start >= total and (out / "run.json").exists():  # nothing to do: the run was already complete
            info = read_run(out)
    return info


def _loop(trainer, config, out, start, elapsed, first, device, runtime, progress, checkpoint_every,
          snapshots, ctx=distributed.Context()) -> dict:
    """The steps from ``start`` on, with the loss log, the progress bar and the checkpoints (rank 0's)."""
    ckpt_file, nhwc, main = out / checkpoint.CHECKPOINT, runtime["channels_last"], ctx.main
    for stale in out.glob(f".{checkpoint.CHECKPOINT}.*") if main else ():  # a kill mid-write leaves a temporary file
        stale.unlink(missing_ok=True)
    trainer.nets.to(device)
    distributed.broadcast_nets(trainer.nets, ctx)
    for opt in trainer.optimizers.values():  # optimiser state follows its parameters
        for state in opt.state.values():
            for k, v in state.items():
                if torch.is_tensor(v) and k != "step":
                    state[k] = v.to(device)
    if nhwc:   # the 4-D weights only: a video model's 3-D convolutions (5-D weights) keep their layout
        for p in trainer.nets.parameters():
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)
    if runtime["compile"]:
        trainer.compile()
    trainer.fuse_adam(runtime.get("fused_adam", False))   # also after a checkpoint's optimiser state said otherwise
    amp = runtime["amp"]
    autocast = autocast_for(amp, device)
    trainer.scale_gradients(device.type, amp == "fp16")
    distributed.sync_gradients(trainer, device.type, ctx)

    every = checkpoint_every or config.get("checkpoint_every") or max(1, config["steps"] // 10)
    total = config["steps"]
    info = {"method": config["method"], "config": config, "library_version": __version__,   # run.json read first:
            "config_hash": config_hash(config), "device": str(device), "devices": _devices(out, device, start),
            "steps": total, **runtime, **({"processes": ctx.world} if ctx.active else {})}   # a bad one changes nothing
    log = _LossLog(out / "losses.csv", trainer.loss_names, keep_until=start) if main else _NoLog()
    last_good = start
    bar = _progress(progress and main, start, total, config["method"])
    pending = _Pending(device, ctx)
    t0 = time.perf_counter() - elapsed

    def read_back(stop=True):
        """The pending steps' losses, read back at once: logged up to the first non-finite one, which stops
        the run (``stop``)."""
        rows = pending.take()
        for step_, seconds, values in rows:
            bad = [k for k, v in values.items() if not math.isfinite(v)]
            if bad and stop:
                kept = (f"the last good checkpoint (step {last_good}) is kept in {out}" if last_good
                        else "it had written no checkpoint yet")
                raise NonFiniteLoss(f"non-finite loss at step {step_} "
                                    f"({', '.join(f'{k}={values[k]}' for k in bad)}); training stopped, {kept}")
            if bad:
                break
            log.write(step_, seconds, values)
        if bar is not None and rows:
            bar.set_postfix({k: f"{v:.3g}" for k, v in list(rows[-1][2].items())[:6]}, refresh=False)

    try:
        with resident_heap():
            for step in range(start, total):
                batch = first if step == start else trainer.sample(distributed.batch_rng(config["seed"], step, ctx))
                batch = {k: to_device(v, device, nhwc) for k, v in batch.items()}
                pending.add(step + 1, time.perf_counter() - t0, trainer.step(batch, autocast))
                if bar is not None:
                    bar.update(1)
                keep = (step + 1) % every == 0 or step + 1 == total or step + 1 in snapshots
                if keep or len(pending) >= LOG_EVERY:
                    read_back()      # every rank, at the same steps: under torchrun it averages over them
                if step + 1 in snapshots and main:
                    _snapshot(trainer, config, step + 1, snapshot_path(out, step + 1))
                if keep:
                    ranks = distributed.rng_states(ctx)   # every rank takes part; rank 0 keeps them
                    last_good = step + 1
                    info.update(_progress_info(step + 1, total, time.perf_counter() - t0, config))
                    if main:
                        log.flush()
                        _save(trainer, config, step + 1, time.perf_counter() - t0, ckpt_file, ranks)
                        write_json(out / "run.json", info)
    except Exception:
        if not ctx.active:   # a step that failed after a non-finite loss: that loss is what went wrong
            read_back()
        raise
    finally:
        if not ctx.active:   # an interrupted run still logs the steps it made (its resume drops those after
            read_back(stop=False)   # the checkpoint); under torchrun the other ranks may not be here to average
        log.close()
        if bar is not None:
            bar.close()
    return info


class _Pending:
    """The losses of the steps since they were last read back: kept on the device (detached, so that no step's
    graph stays alive), then read back together, one transfer for :data:`LOG_EVERY` steps instead of a host
    synchronisation after every step; under ``torchrun`` averaged over the processes in one all-reduce."""

    def __init__(self, device, ctx):
        self.device, self.ctx, self.rows = device, ctx, []

    def __len__(self) -> int:
        return len(self.rows)

    def add(self, step: int, seconds: float, values: dict) -> None:
        self.rows.append((step, seconds, {k: v.detach() for k, v in values.items()}))

    def take(self) -> list[tuple[int, float, dict[str, float]]]:
        """``[(step, seconds, {name: value})]`` of the pending steps, in order; none pending afterwards."""
        rows, self.rows = self.rows, []
        if not rows:
            return []
        flat = torch.stack([_scalar(v, self.device) for _, _, values in rows for v in values.values()]).tolist()
        keys = [f"{i} {k}" for i, (_, _, values) in enumerate(rows) for k in values]
        flat = distributed.mean_values(dict(zip(keys, flat)), self.device, self.ctx)
        return [(step, seconds, {k: flat[f"{i} {k}"] for k in values})
                for i, (step, seconds, values) in enumerate(rows)]


def _scalar(v: torch.Tensor, device) -> torch.Tensor:
    """A logged value as a 0-d float32 tensor on ``device`` (a weight-0 term's zero lives on the CPU, a bf16 loss
    is widened exactly)."""
    v = v.reshape(()) if v.dim() else v
    return v if v.dtype == torch.float32 and v.device == device else v.to(device, torch.float32)


# glibc's mallopt parameters, and its default for both (128 KiB; the map threshold then adapts to the sizes freed)
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD, _GLIBC_THRESHOLD = -1, -3, 128 * 1024
_RESIDENT = 1 << 30
_heap_depth = 0


@contextlib.contextmanager
def resident_heap():
    """Keep the memory that tensors free in this process's heap, for the next step to reuse (glibc ``mallopt``).

    By default glibc hands a large freed block back to the system and maps fresh pages for the next one, so every
    step of a training faults in (and zeroes) the pages of its larger tensors again (a convolution's gradients,
    Adam's temporaries): on this book's machine 65k-120k page faults a step at the public AffineGAN code's widths,
    1.5k-2k at the book's. Here blocks up to 1 GiB come from the heap and the heap is not trimmed, so that after
    its first steps a step faults in nothing (``benchmarks/step_speed.py`` times it). The arithmetic is untouched:
    a run is bit for bit the same. On leaving, the heap is trimmed and glibc's default thresholds are set again
    (fixed, no longer adaptive); on another C library this does nothing."""
    global _heap_depth
    mallopt = None if _heap_depth else _libc_function("mallopt")
    if mallopt is not None:
        mallopt(_M_MMAP_THRESHOLD, _RESIDENT)
        mallopt(_M_TRIM_THRESHOLD, _RESIDENT)
    _heap_depth += 1
    try:
        yield
    finally:
        _heap_depth -= 1
        if mallopt is not None:
            mallopt(_M_MMAP_THRESHOLD, _GLIBC_THRESHOLD)
            mallopt(_M_TRIM_THRESHOLD, _GLIBC_THRESHOLD)
            trim = _libc_function("malloc_trim")
            if trim is not None:
                trim(0)


def _libc_function(name: str):
    """``name`` of the C library this process runs on, or None where it has none (not glibc: macOS, Windows)."""
    try:
        return getattr(ctypes.CDLL(None), name)
    except (OSError, AttributeError, TypeError):
        return None


def resolve_amp(amp: str, device: torch.device) -> str:
    """The mixed precision a run uses: ``auto`` is bf16 on CUDA devices that support it, fp16 (with a
    gradient scaler) on those that do not (Colab's T4), and off elsewhere. On this book's CPU, bf16
    autocast trained AffineGAN somewhat faster at both the public code's and the book's widths
    (``benchmarks/speed.py --variants``), but a 600-step run each way did not show equal results
    (``benchmarks/amp_quality.py``): ``--amp bf16`` is there for whoever measures otherwise."""
    if amp not in AMP:
        raise I2VError(f"--amp {amp!r}: choose one of {', '.join(AMP)}")
    bf16_ok = device.type != "cuda" or torch.cuda.is_bf16_supported()
    if amp == "auto":
        return ("bf16" if bf16_ok else "fp16") if device.type == "cuda" else "off"
    if amp == "bf16" and not bf16_ok:
        raise I2VError(f"{device} has no bf16 support; use --amp fp16 (or auto)")
    return amp


def autocast_for(amp: str, device: torch.device):
    """The context factory a step runs its passes in for a resolved ``amp`` (:func:`resolve_amp`)."""
    if amp == "off":
        return contextlib.nullcontext
    return functools.partial(torch.autocast, device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def to_device(v, device, nhwc: bool):
    """A batch value on ``device``; with ``nhwc``, images (4-d tensors) stored channels_last."""
    if not torch.is_tensor(v):
        return v
    v = v.to(device, non_blocking=True)
    return v.contiguous(memory_format=torch.channels_last) if nhwc and v.ndim == 4 else v


def step_seconds(config: dict, device="auto", amp: str = "auto", steps: int = 3) -> float:
    """Seconds one training step of ``config`` takes on this machine, measured: a throwaway trainer (a later stage's
    frozen nets keep their random weights) draws a batch and takes a step to warm up, then ``steps`` timed ones,
    each drawing its batch as the loop does. Each draws the same batch: a sampler renders a video once and then
    reads it from its cache, as a long run does after its first steps. The run to come is untouched, and so is
    this process's random stream. ``i2v train`` estimates a run's time from it before the run starts."""
    import numpy as np

    config = full_config(config)
    device = torch.device(resolve_device(device))
    autocast = autocast_for(resolve_amp(amp, device), device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        trainer = get_method(config["method"]).Trainer(config)
        if trainer.stages:
            trainer.begin({k: trainer.nets[k].state_dict() for k in trainer.stages})
        trainer.nets.to(device)
        def step():
            batch = trainer.sample(np.random.default_rng(0))
            trainer.step({k: to_device(v, device, False) for k, v in batch.items()}, autocast)

        with resident_heap():
            step()
            _synchronize(device)
            start = time.perf_counter()
            for _ in range(steps):
                step()
            _synchronize(device)
    return (time.perf_counter() - start) / steps


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _progress(enabled, start, total, name):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc=f"train {name}", unit="step", dynamic_ncols=True)


def _progress_info(step, total, seconds, config) -> dict:
    per_step = config.get("batch", 1)
    return {"step": step, "finished": step >= total, "seconds": round(seconds, 2),
            "examples_per_second": round(step * per_step / max(seconds, 1e-9), 2)}
