"""FGST's perceptual features: a network of the identity instrument's design, trained apart from the instrument.

    OMP_NUM_THREADS=1 python -m i2vlib.models.perceptual --out i2vlib/models/weights/perceptual64.pt

FGST's released loss network is VGG-19 (:mod:`.fgst`), whose weights are not available offline. The book first
took the identity instrument's trunk (:class:`i2vlib.instruments.nets.IdentityNet`), the network behind ACD-I and the
``identity`` health gate: a baseline that learns to please the network that judges it is not judged fairly (issue 71:
no arm trains on a network that measures a claim or a gate). This network has the instrument's design and objective
and nothing else of it: an :class:`~i2vlib.instruments.nets.IdentityNet` trained by
:func:`i2vlib.instruments.build.train` with InfoNCE on two views of each identity, from another seed
(:data:`SETTINGS`), on the 8000 benchmark TRAIN identities that follow the instrument's 8000 (no person either saw,
and no test identity). Only its trunk ``features`` ships, in half precision (``weights/perceptual64.pt``), with a
report beside it (``perceptual64.json``): the command, the wall time, the identities, and the held-out accuracy of
the whole network (trunk and head, rounded to half precision, so the trunk that ships is the one measured) on the
instrument's own triplets of test identities (:func:`i2vlib.instruments.build.identity_accuracy`), measured again for
the instrument beside it, with how alike the two trunks' features are (linear CKA per stage).

Why its loop is not :func:`i2vlib.train.train`: like the instruments it imitates (:mod:`i2vlib.instruments.build`), it
is trained once on frames rendered into memory and ships as weights plus a report; no run store, resume or
``i2vlib.load`` ever touches it.
"""

from __future__ import annotations

import copy
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..data.clips import to_tensor
from ..data.synthetic import SyntheticBenchmark
from ..errors import ArgumentParser, I2VError, command_line
from ..instruments import get_instrument
from ..instruments.build import identity_accuracy, random_view, train, train_identities, training_set
from ..instruments.nets import SIZE, IdentityNet, n_parameters
from ..io import write_json
from ..outputs import atomic_file, check_output

WEIGHTS = Path(__file__).resolve().parent / "weights" / "perceptual64.pt"
FORMAT, VERSION = "i2v-perceptual", 1
# The instrument's identity network trained on TRAIN identities 0-7999 with seed 0 (instruments/build.py's FULL);
# this one on the next 8000 with seed 1, for as many steps of as many identities.
INSTRUMENT_IDENTITIES = {"offset": 0, "count": 8000}
SETTINGS = {"identities": 8000, "offset": 8000, "views": 4, "steps": 1500, "id_batch": 64, "seed": 1, "bench_seed": 0}
TRIPLETS, CKA_FRAMES = 1000, 512


def load(path=WEIGHTS) -> nn.Sequential:
    """The shipped trunk (:func:`i2vlib.instruments.nets.trunk`, four stages), frozen, in eval mode."""
    path = Path(path)
    if not path.is_file():
        raise I2VError(f"no perceptual features at {path}; train them with "
                       "`python -m i2vlib.models.perceptual --out PATH`")
    try:
        data = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - torch raises many kinds on a damaged file
        raise I2VError(f"{path} is not a readable perceptual-features file ({type(e).__name__})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise I2VError(f"{path} is not an i2v perceptual-features file")
    trunk = IdentityNet().features
    try:
        trunk.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in data["weights"].items()})
    except (KeyError, RuntimeError) as e:
        raise I2VError(f"{path}: the weights do not fit the trunk ({str(e).splitlines()[0][:120]})") from None
    return trunk.requires_grad_(False).eval()


def save(path, net: IdentityNet) -> Path:
    """Write ``net``'s trunk in half precision, atomically."""
    weights = {k: (v.half() if v.is_floating_point() else v).clone() for k, v in net.features.state_dict().items()}
    with atomic_file(path) as f:
        torch.save({"format": FORMAT, "version": VERSION, "size": SIZE, "weights": weights}, f)
    return Path(path)


def halved(net: IdentityNet) -> IdentityNet:
    """A copy of ``net`` with every weight and statistic rounded to half precision (what ships), in float."""
    out = copy.deepcopy(net)
    out.load_state_dict({k: v.half().float() if v.is_floating_point() else v for k, v in net.state_dict().items()})
    return out.eval()


def embedder(net: IdentityNet):
    """frames (N x 64 x 64 x 3 uint8) -> ``net``'s embeddings (N x 128), for :func:`identity_accuracy`."""
    @torch.inference_mode()
    def embed(frames: np.ndarray) -> np.ndarray:
        return torch.cat([net(to_tensor(frames[i:i + 256])) for i in range(0, len(frames), 256)]).numpy()
    return embed


@torch.inference_mode()
def stage_features(trunk: nn.Sequential, frames: np.ndarray) -> list[np.ndarray]:
    """The outputs of the trunk's four stages for ``frames``, each flattened to (N, C H W)."""
    x, out, layers = to_tensor(frames), [], list(trunk)
    per = len(layers) // 4
    for i in range(0, len(layers), per):
        x = nn.Sequential(*layers[i:i + per])(x)
        out.append(x.flatten(1).double().numpy())
    return out


def linear_cka(a: np.ndarray, b: np.ndarray) -> float:
    """Linear centred kernel alignment of two feature sets of the same N inputs (1: the same up to a rotation and a
    scale; Kornblith et al. 2019, Eq. 5)."""
    a, b = a - a.mean(0), b - b.mean(0)
    return float(np.linalg.norm(b.T @ a) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b)))


def held_out_faces(n: int, seed: int = 0) -> np.ndarray:
    """``n`` random views of test identities (benchmark seed 0), for comparing features."""
    bench, rng = SyntheticBenchmark(size=SIZE), np.random.default_rng([seed, 0xC4A])
    return np.stack([random_view(bench.identity(int(i)), rng)["image"]
                     for i in rng.choice(bench.identities("test"), n)])


def train_features(out, settings: dict | None = None, progress: bool = True, command: str | None = None,
                   triplets: int = TRIPLETS, cka_frames: int = CKA_FRAMES) -> dict:
    """Render, train and measure; then save the trunk at ``out`` and the report beside it; returns the report.
    ``settings``: changes to :data:`SETTINGS`; ``triplets`` and ``cka_frames``: the measurement's size."""
    s = {**SETTINGS, **(settings or {})}
    start = time.perf_counter()
    data = training_set(s["identities"], s["views"], seed=s["seed"], negatives=0.0, progress=progress,
                        offset=s["offset"], bench_seed=s["bench_seed"])
    rendered = time.perf_counter()
    net = train(data, s["steps"], id_batch=s["id_batch"], seed=s["seed"], progress=progress,
                networks=("identity",))["identity"]
    trained = time.perf_counter()
    instrument = get_instrument("synthetic").nets["identity"]
    shipped = halved(net)                                     # the trunk that ships, and its head
    faces = held_out_faces(cka_frames)
    ours, theirs = stage_features(shipped.features, faces), stage_features(instrument.features, faces)
    _, seen = train_identities(**INSTRUMENT_IDENTITIES, bench_seed=s["bench_seed"])
    used = data["indices"]
    report = {
        "command": command, "settings": s,
        "seconds": {"render": round(rendered - start, 1), "train": round(trained - rendered, 1),
                    "total": round(time.perf_counter() - start, 1)},
        "threads": torch.get_num_threads(),
        "identities": {"split": "train", "benchmark_seed": s["bench_seed"], "count": len(used),
                       "first": int(used[0]), "last": int(used[-1]),
                       "instruments": {"count": len(seen), "first": int(seen[0]), "last": int(seen[-1])},
                       "shared_with_instrument": len(np.intersect1d(used, seen))},
        "parameters": {"trunk": n_parameters(net.features), "whole": n_parameters(net)},
        "accuracy": {"half": identity_accuracy(embedder(shipped), triplets),
                     "float": identity_accuracy(embedder(net), triplets),
                     "instrument": identity_accuracy(embedder(instrument), triplets),
                     "held_out": {"split": "test", "triplets": triplets, "size": SIZE}},
        "cka_with_instrument": [round(linear_cka(a, b), 4) for a, b in zip(ours, theirs)],
    }
    save(out, net)
    report["file_bytes"] = Path(out).stat().st_size
    write_json(Path(out).with_suffix(".json"), report)
    return report


@command_line("perceptual")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.models.perceptual", description=__doc__.split("\n\n")[0])
    p.add_argument("--out", required=True, help="weights file to write (a .json report goes next to it)")
    args = p.parse_args(argv)
    check_output(args.out, "file")
    check_output(Path(args.out).with_suffix(".json"), "file")
    torch.set_num_threads(1)   # the instruments' rule: small convolutions gain little from more threads
    command = "OMP_NUM_THREADS=1 python -m i2vlib.models.perceptual " + " ".join(
        argv if argv is not None else sys.argv[1:])
    report = train_features(args.out, command=command)
    print(json.dumps({k: report[k] for k in ("seconds", "file_bytes", "accuracy", "cka_with_instrument")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
