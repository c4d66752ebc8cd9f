"""Data-parallel training over several processes: ``torchrun --nproc_per_node=N -m i2vlib.cli train ...``.

torchrun starts N copies of the command and tells each its ``RANK``, ``LOCAL_RANK`` and
``WORLD_SIZE`` (and where they meet, ``MASTER_ADDR`` and ``MASTER_PORT``). :func:`i2vlib.train.train`
reads them with :func:`context`; with ``WORLD_SIZE`` > 1 it

* joins the process group (:func:`start`): NCCL with one GPU per process (``cuda:LOCAL_RANK``), gloo
  on CPUs;
* gives each process ``batch / WORLD_SIZE`` examples of the global batch (:func:`share`), drawn from its
  own stream ``numpy.random.default_rng([seed, step, rank])`` (:func:`batch_rng`); the torch generator
  (the draws inside a step: AffineGAN's u ~ U(0, 1), WGAN-GP's interpolation) is seeded per rank too;
* averages every optimiser's gradients over the processes before it steps (:func:`sync_gradients`), so
  that all take the step of the mean loss over the global batch, and averages the logged losses;
* lets rank 0 alone write the run directory; a checkpoint keeps every rank's torch generator state
  (:func:`rng_states`), from which every rank resumes.

Why not ``DistributedDataParallel``: a GAN step calls the parts of its networks one by one (encoders,
decoder, landmark head, critics) and runs several backward passes on different optimisers; DDP hooks
one forward and one backward of each wrapped module, and a part a step leaves unused on one rank only
(Fan et al.'s residual encoder of an expression absent from that rank's share) would stall its
all-reduce. One all-reduce of an optimiser's gradients just before it steps is exact for any step.

With one process (``WORLD_SIZE`` unset or 1) none of this runs: batches come from
``default_rng([seed, step])`` as they always did.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch

from .errors import I2VError


@dataclass(frozen=True)
class Context:
    """This process's place among the processes of a run (one process: rank 0 of 1)."""

    rank: int = 0
    local_rank: int = 0
    world: int = 1

    @property
    def active(self) -> bool:
        return self.world > 1

    @property
    def main(self) -> bool:
        """Whether this process writes the run directory (rank 0)."""
        return self.rank == 0


def context() -> Context:
    """The context torchrun's environment describes (``WORLD_SIZE``, ``RANK``, ``LOCAL_RANK``)."""
    env = {k: os.environ.get(k, "") for k in ("WORLD_SIZE", "RANK", "LOCAL_RANK")}
    try:
        world = int(env["WORLD_SIZE"] or 1)
        rank = int(env["RANK"] or 0)
        local = int(env["LOCAL_RANK"] or rank)
    except ValueError:
        raise I2VError(f"WORLD_SIZE, RANK and LOCAL_RANK must be integers (torchrun sets them); got {env}") from None
    if world < 1 or not 0 <= rank < world or local < 0:
        raise I2VError(f"RANK={rank} LOCAL_RANK={local} do not fit WORLD_SIZE={world}")
    return Context(rank, local, world)


def share(config: dict, world: int) -> int:
    """Each process's part of the global batch ``config["batch"]``; one line if it does not split."""
    batch = int(config["batch"])
    if batch % world:
        raise I2VError(f"batch {batch} cannot be split over {world} processes; give a batch that is a multiple "
                       f"of {world} (--set batch=N)")
    part, per_video = batch // world, config.get("pairs_per_video")
    if per_video and part % per_video:
        raise I2VError(f"each of {world} processes would draw {part} of the batch of {batch}, not whole videos of "
                       f"pairs_per_video={per_video}; give a batch that is a multiple of {world * per_video}")
    return part


def device(dev: torch.device, ctx: Context) -> torch.device:
    """The device of this process: ``cuda:LOCAL_RANK`` for a CUDA run, the CPU for a CPU run."""
    if not ctx.active or dev.type == "cpu":
        return dev
    if dev.type != "cuda":
        raise I2VError(f"training on several processes runs on CUDA GPUs (NCCL) or on CPUs (gloo), not on {dev}")
    if dev.index is not None:
        raise I2VError(f"under torchrun each process trains on its own GPU, cuda:LOCAL_RANK; give --device cuda "
                       f"(or auto), not {dev}")
    if ctx.local_rank >= torch.cuda.device_count():
        raise I2VError(f"LOCAL_RANK {ctx.local_rank} has no GPU: this machine has {torch.cuda.device_count()}; "
                       "start at most that many processes per node")
    return torch.device("cuda", ctx.local_rank)


def start(ctx: Context, dev: torch.device) -> bool:
    """Join the process group; returns whether this call created it (a nested run, FRGAN's earlier
    stage trained from a later one, reuses its caller's)."""
    import torch.distributed as dist

    if not ctx.active:
        return False
    if dev.type == "cuda":
        torch.cuda.set_device(dev)
    if dist.is_initialized():
        dist.barrier()
        return False
    dist.init_process_group("nccl" if dev.type == "cuda" else "gloo", rank=ctx.rank, world_size=ctx.world)
    return True


def stop(created: bool) -> None:
    """Leave the process group that :func:`start` created."""
    import torch.distributed as dist

    if created and dist.is_initialized():
        dist.destroy_process_group()


def barrier(ctx: Context) -> None:
    if ctx.active:
        import torch.distributed as dist

        dist.barrier()


def batch_rng(seed: int, step: int, ctx: Context) -> np.random.Generator:
    """The generator of this process's batch at ``step``: (seed, step) alone, (seed, step, rank) with several."""
    return np.random.default_rng([seed, step, ctx.rank] if ctx.active else [seed, step])


def seed_torch(seed: int, step: int, ctx: Context) -> None:
    """Each rank's own torch stream from (seed, step, rank): a new run (step 0), or a resumed run whose
    checkpoint holds no state for this rank (written with another number of processes)."""
    torch.manual_seed(int(np.random.SeedSequence([seed, step, ctx.rank, 0x7]).generate_state(1)[0]))


def rng_states(ctx: Context) -> list[dict] | None:
    """Every rank's torch generator states (CPU, and this rank's GPU), gathered on every rank."""
    if not ctx.active:
        return None
    import torch.distributed as dist

    mine = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and dist.get_backend() == "nccl":
        mine["cuda"] = torch.cuda.get_rng_state()
    states = [None] * ctx.world
    dist.all_gather_object(states, mine)
    return states


def set_rng_state(state: dict) -> None:
    """Restore one rank's entry of :func:`rng_states`."""
    torch.set_rng_state(state["torch"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state(state["cuda"])


def broadcast_nets(nets: torch.nn.Module, ctx: Context) -> None:
    """Rank 0's weights and buffers on every rank (as DDP starts), whatever each rank built or loaded."""
    if not ctx.active:
        return
    import torch.distributed as dist

    with torch.no_grad():
        for t in [*nets.parameters(), *nets.buffers()]:
            dist.broadcast(t.data, 0)


def mean_values(values: dict[str, float], dev: torch.device, ctx: Context) -> dict[str, float]:
    """The logged values averaged over the processes: the global batch's losses (one all-reduce)."""
    if not ctx.active or not values:
        return values
    import torch.distributed as dist

    t = torch.tensor(list(values.values()), dtype=torch.float64, device=dev)
    dist.all_reduce(t)
    return dict(zip(values, (t / ctx.world).tolist()))


def average_gradients(params: list[torch.Tensor]) -> None:
    """Every process's gradients of ``params`` replaced by their mean over the processes.

    A parameter without a gradient counts as a zero gradient on that process (its share of the batch
    did not reach it), and keeps no gradient where no process has one, as Adam then skips it in a
    single process too. One all-reduce for all of them.
    """
    import torch.distributed as dist

    world = dist.get_world_size()
    have = [p.grad is not None for p in params]
    ref = next((p.grad for p in params if p.grad is not None), params[0])
    flat = torch.cat([*(p.grad.reshape(-1) if h else p.new_zeros(p.numel()) for p, h in zip(params, have)),
                      torch.tensor(have, dtype=ref.dtype, device=ref.device)])
    dist.all_reduce(flat)
    counts = flat[-len(params):].tolist()
    offset = 0
    for p, count in zip(params, counts):
        mean = flat[offset:offset + p.numel()].view_as(p).div_(world)
        offset += p.numel()
        if count == 0:
            continue
        if p.grad is None:
            p.grad = mean.clone()
        else:
            p.grad.copy_(mean)


class SyncedScaler(torch.amp.GradScaler):
    """An fp16 gradient scaler that averages the scaled gradients over the processes before unscaling
    them, so that every process finds the same overflow and skips, or takes, the same step."""

    def __init__(self, device_type: str, params: dict[int, list[torch.Tensor]]):
        super().__init__(device_type)
        self.params = params    # id(optimizer) -> its parameters

    def unscale_(self, optimizer) -> None:
        average_gradients(self.params[id(optimizer)])
        super().unscale_(optimizer)


def sync_gradients(trainer, device_type: str, ctx: Context) -> None:
    """Average the gradients of every optimiser of ``trainer`` over the processes before it steps:
    in an optimiser step pre-hook, or (fp16 training) in its gradient scaler's unscale."""
    if not ctx.active:
        return
    for group, opt in trainer.optimizers.items():
        params = [p for g in opt.param_groups for p in g["params"]]
        scaler = trainer.scalers.get(group)
        if scaler is None:
            opt.register_step_pre_hook(lambda _opt, _args, _kwargs, params=params: average_gradients(params))
        else:
            synced = SyncedScaler(device_type, {id(opt): params})
            synced.load_state_dict(scaler.state_dict())
            trainer.scalers[group] = synced
