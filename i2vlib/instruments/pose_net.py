"""The pose instrument: a small pose network trained on the pose benchmark, FRGAN's C_1 and C_2 (Eq. 15).

    python -m i2vlib.instruments.pose_net --out i2vlib/instruments/weights/pose64.pt

For the pose half the paper adds a feature loss to Eq. 4 (§4.3, Eq. 15)::

    L_feat = ||C_1(I_{t+k}) - C_1(Ĩ_{t+k})||_2^2 + ||C_2(I_{t+k}) - C_2(Ĩ_{t+k})||_2^2

with C_1 the last convolutional layer of VGG16 on a 224-px person crop (appearance) and C_2 the last
layer of a stacked Hourglass network (structure: one heat map per joint). Neither can be downloaded
here, and both were trained on photographs, not on our 64-px figures. One small network trained on
the benchmark stands in for both: C_1 is its trunk's last features, C_2 its 13 joint heat maps, both
at a quarter of the image's resolution. Its accuracy on test people (PCK@0.2 and pixel error of the
heat maps' peaks) ships beside the weights in ``pose64.json``, with the command and its time.

Why its loop is not :func:`i2vlib.train.train`: like the face instruments (:mod:`.build`), it is a
measuring tool trained once in about three minutes on frames rendered into memory, shipped with its
accuracy report; no run store, resume or ``i2vlib.load`` ever touches it.
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

from ..data.clips import to_tensor
from ..data.pose_benchmark import PoseBenchmark
from ..errors import ArgumentParser, I2VError, command_line, whole_number
from ..io import write_json
from ..metrics import pck, pose_error
from ..outputs import atomic_file, check_output
from .condition import gaussians

WEIGHTS = Path(__file__).resolve().parent / "weights" / "pose64.pt"
FORMAT, VERSION = "i2v-pose-instrument", 1
SIZE, STRIDE, SIGMA = 64, 4, 1.0          # input pixels; heat maps at SIZE / STRIDE, sigma in heat-map pixels
SETTINGS = {"videos": 240, "frames_per_video": 16, "steps": 2000, "batch": 32, "lr": 2e-3, "seed": 0}


class PoseNet(nn.Module):
    """64 x 64 RGB in [-1, 1] -> (C_1: 64 x 16 x 16 features, C_2: 13 x 16 x 16 joint heat maps)."""

    def __init__(self, widths=(16, 32, 64)):
        super().__init__()

        def conv(cin, cout, stride=1):
            return [nn.Conv2d(cin, cout, 3, stride, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU(inplace=True)]

        a, b, c = widths
        self.trunk = nn.Sequential(*conv(3, a), *conv(a, b, 2), *conv(b, b), *conv(b, c, 2), *conv(c, c),
                                   *conv(c, c))
        self.heads = nn.Conv2d(c, 13, 1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        c1 = self.trunk(x)
        return c1, self.heads(c1)


def heatmaps(joints, size: int = SIZE) -> torch.Tensor:
    """Training targets: Gaussians (sigma :data:`SIGMA`) at (N, 13, 2) pixel joints, on the C_2 grid."""
    j = (torch.as_tensor(joints, dtype=torch.float32) + 0.5) / STRIDE - 0.5   # pixel centres -> cell centres
    return gaussians(j, size // STRIDE, torch.full((len(j), 1, 1), SIGMA))


def peaks(c2: torch.Tensor) -> np.ndarray:
    """The joints C_2 reads: each heat map's arg-max, refined by the weighted mean of its 3 x 3
    neighbourhood, in input pixels (N, 13, 2)."""
    n, j, h, w = c2.shape
    flat = c2.detach().float().flatten(2).argmax(-1)
    y, x = (flat // w).numpy(), (flat % w).numpy()
    maps = F.pad(c2.detach().float(), (1, 1, 1, 1)).clamp_min(0).numpy()
    out = np.zeros((n, j, 2), np.float32)
    dy, dx = np.mgrid[-1:2, -1:2]
    for a in range(n):
        for b in range(j):
            patch = maps[a, b, y[a, b]:y[a, b] + 3, x[a, b]:x[a, b] + 3]
            s = patch.sum() or 1.0
            out[a, b] = x[a, b] + (patch * dx).sum() / s, y[a, b] + (patch * dy).sum() / s
    return (out + 0.5) * STRIDE - 0.5


def load(path=WEIGHTS) -> PoseNet:
    """The shipped instrument, frozen, in eval mode (``weights_only`` load)."""
    path = Path(path)
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise I2VError(f"the pose instrument {path} is missing; train it with "
                       "`python -m i2vlib.instruments.pose_net --out i2vlib/instruments/weights/pose64.pt`") from None
    except Exception as e:  # noqa: BLE001 - torch raises many kinds on a damaged file
        raise I2VError(f"{path} is not a pose instrument file ({type(e).__name__})") from None
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise I2VError(f"{path} is not a pose instrument file")
    net = PoseNet(tuple(ckpt["widths"]))
    net.load_state_dict({k: v.float() for k, v in ckpt["state"].items()})
    return net.requires_grad_(False).eval()


def feature_loss(net: PoseNet, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """Eq. 15 with C_1 and C_2 of ``net``: squared distances, averaged over their elements (images in
    [-1, 1]; 64-px batches; larger ones are resized to 64 px first)."""
    if real.shape[-1] != SIZE:
        real, fake = (F.interpolate(x, size=(SIZE, SIZE), mode="bilinear", align_corners=False, antialias=True)
                      for x in (real, fake))
    with torch.no_grad():
        r1, r2 = net(real)
    f1, f2 = net(fake)
    return F.mse_loss(f1, r1) + F.mse_loss(f2, r2)


# ---------------------------------------------------------------------------- training and assessment

def _frames(bench, split: str, videos: int, per_video: int, rng: np.random.Generator):
    images, joints = [], []
    for i in range(videos):
        v = bench.video(split, i)
        for t in rng.choice(len(v.frames), per_video, replace=False):
            images.append(to_tensor(v.frames[t]))
            joints.append(v.joints[t])
    return torch.stack(images), np.stack(joints)


def assess(net: PoseNet, bench, videos: int = 48) -> dict:
    """PCK@0.2 and mean pixel error of the heat maps' peaks over visible joints of ``videos`` test videos."""
    pred, true, vis = [], [], []
    with torch.inference_mode():
        for i in range(videos):
            v = bench.video("test", i)
            idx = np.arange(0, len(v.frames), 4)
            pred.append(peaks(net(torch.stack([to_tensor(f) for f in v.frames[idx]]))[1]))
            true.append(v.joints[idx])
            vis.append(v.visibility[idx])
    pred, true, vis = np.concatenate(pred), np.concatenate(true), np.concatenate(vis)
    return {"pck": float(pck(pred, true, vis)), "joint_error_px": float(pose_error(pred, true, vis)),
            "test_frames": int(len(pred))}


def train(settings: dict = SETTINGS, progress: bool = True) -> tuple[PoseNet, dict]:
    """Train the instrument on frames of the benchmark's forecast and refine people (never test ones)."""
    s = settings
    torch.manual_seed(s["seed"])
    rng = np.random.default_rng(s["seed"])
    bench = PoseBenchmark(SIZE, seed=s["seed"])
    start = time.perf_counter()
    parts = [_frames(bench, split, s["videos"] // 2, s["frames_per_video"], rng) for split in ("forecast", "refine")]
    images, joints = torch.cat([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
    target = heatmaps(joints)
    rendered = time.perf_counter() - start
    net = PoseNet()
    opt = torch.optim.Adam(net.parameters(), lr=s["lr"])
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, s["steps"])
    for step in range(s["steps"]):
        idx = torch.as_tensor(rng.integers(0, len(images), s["batch"]))
        x = images[idx]
        if rng.random() < 0.5:   # colour jitter: the GAN's frames are not the benchmark's exact colours
            x = (x * float(rng.uniform(0.8, 1.2)) + float(rng.uniform(-0.1, 0.1))).clamp(-1, 1)
        loss = F.mse_loss(net(x)[1], target[idx]) * 100
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if progress and step % 500 == 0:
            print(f"step {step} loss {loss.item():.4f}", flush=True)
    net.eval()
    report = {"settings": dict(s), "seconds": {"render": round(rendered, 1),
                                               "total": round(time.perf_counter() - start, 1)},
              "threads": torch.get_num_threads(), "training_frames": int(len(images)),
              "parameters": sum(p.numel() for p in net.parameters()), "accuracy": assess(net, bench)}
    return net.requires_grad_(False), report


def save(net: PoseNet, path, report: dict) -> None:
    """The weights in half precision (``path``) and the report beside them (``path`` with ``.json``)."""
    path = Path(path)
    state = {k: (v.half() if v.is_floating_point() else v) for k, v in net.state_dict().items()}
    with atomic_file(path) as f:
        torch.save({"format": FORMAT, "version": VERSION, "widths": [16, 32, 64], "state": state}, f)
    write_json(path.with_suffix(".json"), {**report, "file_bytes": path.stat().st_size})


@command_line("pose")
def main(argv=None) -> int:
    p = ArgumentParser(prog="python -m i2vlib.instruments.pose_net", description=__doc__.splitlines()[0])
    p.add_argument("--out", default=str(WEIGHTS))
    p.add_argument("--steps", type=whole_number(1), default=SETTINGS["steps"])
    args = p.parse_args(argv)
    check_output(args.out, "file")
    check_output(Path(args.out).with_suffix(".json"), "file")
    net, report = train({**SETTINGS, "steps": args.steps})
    report["command"] = "python -m i2vlib.instruments.pose_net --out " + args.out
    save(net, args.out, report)
    print(json.dumps(report["accuracy"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
