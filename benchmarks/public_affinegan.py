"""The public AffineGAN code (Shen et al., github.com/sunlightsgy/AffineGAN) on the book's data, beside the book's.

    python benchmarks/public_affinegan.py data OUT [--expression happy]
    python benchmarks/public_affinegan.py train --public PATH --data OUT --run RUN [--steps 8000] [--ngf 16]
    python benchmarks/public_affinegan.py score --public PATH --run RUN [--steps 1000 2000 5000 8000]
                                                [--out i2vlib/studies/public_affinegan.json]
    python benchmarks/public_affinegan.py frames --public PATH --run RUN --book-run DIR [--steps ...] [--faces 2]
                                                 [--out i2vlib/studies/public_affinegan.png]

``data`` writes the training videos the book's AffineGAN recipe trains on (``zoo:affinegan-<expression>``'s
config: the benchmark's train split, 1000 videos of 8-16 frames, linear intensity, registered heads) in the
AffineGAN folder layout, with mouth masks under ``patch/``.

``train`` runs the public code's own ``train.py``, unmodified, on that folder: on the CPU (``--gpu_ids -1``), at
64 px (``--netG unet_64 --loadSize 64 --fineSize 64``: no resize, no crop), with the public code's defaults for
everything else (dropout, flips, vanilla GAN, lr 2e-4, five pairs of one video per step); one epoch is one pass
over the videos, so with 1000 videos a step is a video and ``--save_epoch_freq 1`` keeps the generator every 1000
steps. ``--ngf`` sets its widths (the public default is 64; 16 is the book recipe's width, and what this
machine's cores can train in an hour). Three things the public code needs are gone from today's libraries, and
are supplied beside it, not changed in it: ``torchvision.transforms`` (the CPU build of torch has no torchvision:
``ToTensor`` and ``Normalize``, the only two it calls on this path), ``scipy.misc.imresize`` (removed from scipy;
only its HTML visualiser calls it, and ``--no_html`` never does) and the ``dominate`` package (imported by the
visualiser; a minimal stand-in, since nothing is written with it).

``score`` loads each saved generator into the public code's own network class, wraps it as a book model (Eq. 3 at
intensity a: ``netG(I0, 1, a)``), and scores it with :func:`i2vlib.evaluate.evaluate` on the test identities, as
every book model is scored, plus the texture of the a = 0 frame and Eq. 5 on linear videos (the public code's
own Eq. 5: ||f_delta|| in the denominator). Prints JSON and writes it to ``--out``.

``frames`` draws what those scores measure, for the AffineGAN training chapter: the first ``--faces`` validation
faces at a = 0, 0.5 and 1, the truth's frames at those intensities, then at each of ``--steps`` the public code's
frames above the book's (``--book-run``: a run of the upsampling study's ``transposed`` arm, the paper's recipe at
the same width and data, whose snapshots are kept at the same steps), one 64 px frame to 2 x 2 screen pixels.
"""

from __future__ import annotations

import contextlib
import os
import runpy
import sys
import time
import types
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from i2vlib import api  # noqa: E402
from i2vlib.data.folders import write_affinegan  # noqa: E402
from i2vlib.data.sampling import training_source  # noqa: E402
from i2vlib.errors import ArgumentParser, I2VError  # noqa: E402
from i2vlib.io import write_json  # noqa: E402
from i2vlib.zoo import entry_config  # noqa: E402


def write_data(out: str, expression: str) -> None:
    cfg = entry_config(f"affinegan-{expression}")
    source = training_source(cfg)
    start = time.perf_counter()
    write_affinegan(out, (source[i] for i in range(len(source))))
    print(f"wrote {len(source)} training videos of {expression} to {out} in {time.perf_counter() - start:.0f} s")


def _shims() -> None:
    """What the public code imports from libraries that no longer have it (see the module's docstring)."""
    tv = types.ModuleType("torchvision")
    transforms = types.ModuleType("torchvision.transforms")

    class ToTensor:
        def __call__(self, pic):
            a = np.asarray(pic)
            a = a[:, :, None] if a.ndim == 2 else a
            return torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))).float().div(255)

    class Normalize:
        def __init__(self, mean, std):
            self.mean, self.std = torch.tensor(mean)[:, None, None], torch.tensor(std)[:, None, None]

        def __call__(self, x):
            return (x - self.mean) / self.std

    transforms.ToTensor, transforms.Normalize = ToTensor, Normalize
    tv.transforms = transforms
    sys.modules.update({"torchvision": tv, "torchvision.transforms": transforms})
    import scipy.misc
    scipy.misc.imresize = lambda *a, **k: (_ for _ in ()).throw(RuntimeError("imresize is not available"))
    dominate = types.ModuleType("dominate")
    tags = types.ModuleType("dominate.tags")
    tags.__all__ = []
    dominate.tags, dominate.document = tags, lambda *a, **k: None
    sys.modules.update({"dominate": dominate, "dominate.tags": tags})


def train_public(public: str, data: str, run: str, steps: int, ngf: int, expression: str) -> None:
    videos = len([p for p in (Path(data) / expression / "train" / "img").iterdir() if p.is_dir()])
    if steps % videos:
        raise I2VError(f"--steps must be a whole number of epochs of the {videos} videos")
    epochs = steps // videos
    _shims()
    torch.set_num_threads(1)
    sys.path.insert(0, str(Path(public).resolve()))
    run = Path(run).resolve()
    argv = ["train.py", "--dataroot", str(Path(data).resolve() / expression), "--name", run.name,
            "--checkpoints_dir", str(run.parent), "--gpu_ids", "-1", "--netG", "unet_64", "--loadSize", "64",
            "--fineSize", "64", "--ngf", str(ngf), "--ndf", str(ngf), "--niter", str(epochs - epochs // 2),
            "--niter_decay", str(epochs // 2), "--save_epoch_freq", "1", "--no_html", "--display_id", "-1",
            "--num_threads", "0", "--print_freq", "200"]
    if expression in ("close-eyes", "raise-eyes"):
        argv.append("--no_patch")        # as the public README trains Cheeks&Eyes' eye expressions
    sys.argv = argv
    cwd = os.getcwd()
    os.chdir(public)
    try:
        runpy.run_path("train.py", run_name="__main__")
    finally:
        os.chdir(cwd)


class PublicModel(api.Model):
    """A generator of the public code behind the book's generation API: Eq. 3 at intensity a is the public code's
    ``netG(I0, 1, a)`` (its own test-time call), one pass per frame. ``dropout``: as the public ``generate.py`` runs
    it by default (pix2pix's convention: without ``--eval`` the network stays in training mode, so its dropout layers
    stay on at test time; seeded here, so a face's frames are repeatable), or off (``--eval``)."""

    method = "affinegan-public"
    expressions = ("happy",)

    def __init__(self, net, size: int = 64, step: int = 0, dropout: bool = True):
        super().__init__({"image_size": size, "expressions": list(self.expressions)})
        self.net, self.image_size, self.step, self.dropout = net.train(dropout), size, step, dropout

    def _encode(self, x, expressions):
        return x

    def _decode(self, x, a):
        (v,) = a.values()
        torch.manual_seed(0)
        with torch.inference_mode():
            return torch.cat([self.net(x, 1.0, float(t), False)[0] for t in v])

    def infer_intensity(self, neutral, frames, expression=None) -> np.ndarray:
        """Eq. 5 as the public code computes it (``get_alpha``): |(f_t - f_0)^T f_delta| / (||f_delta|| + 1e-6) on the
        innermost code, f_0 = netG(I0, 1, 0)'s, f_delta = netG(I0, 0, 1)'s, f_t = netG(I_t, 1, 0)'s."""
        torch.manual_seed(0)
        with torch.inference_mode():
            x0 = self.tensor(neutral)
            f0, fd = self.net(x0, 1.0, 0.0, False)[1].flatten(), self.net(x0, 0.0, 1.0, False)[1].flatten()
            out = []
            for frame in np.asarray(frames):
                ft = self.net(self.tensor(frame), 1.0, 0.0, False)[1].flatten()
                out.append(float(((ft - f0) * fd).sum().abs() / (fd.norm() + 1e-6)))
        return np.array(out)


def public_model(public: str, run: str, step: int, dropout: bool = True) -> PublicModel:
    """The public code's generator saved at ``step`` in ``run`` (its ``<epoch>_net_G.pth``; an epoch is one pass over
    the run's videos), in the public code's own network class, behind the book's API."""
    _shims()
    sys.path.insert(0, str(Path(public).resolve()))
    from models.affineGAN_networks import UnetGenerator, get_norm_layer  # the public code's own classes

    lines = [line.strip() for line in (Path(run) / "opt.txt").read_text().splitlines()]
    opt = dict(line.split(": ", 1) for line in lines if ": " in line and not line.startswith("-"))   # "suffix:" empty
    videos = len([p for p in (Path(opt["dataroot"].split()[0]) / "train" / "img").iterdir() if p.is_dir()])
    file = Path(run) / f"{step // videos}_net_G.pth"
    if not file.is_file():
        raise I2VError(f"{run} holds no generator at step {step} ({file.name})")
    ngf = int(opt["ngf"].split()[0])
    net = UnetGenerator(3, 3, 6, ngf, norm_layer=get_norm_layer("instance"), use_dropout=True)
    net.load_state_dict(torch.load(file, map_location="cpu", weights_only=True))
    return PublicModel(net, step=step, dropout=dropout)


def score(public: str, run: str, steps, out: str | None, dropout: bool = True) -> dict:
    """The book's validation scores (:func:`i2vlib.records.study.validation_scores`: texture at a = 0, 0.5, 1, strength,
    the ACD-I ratio, Eq. 5's rho) of the public code's generator at each of ``steps``, the faces and the function of
    the upsampling study's records, so the two are compared at equal steps."""
    from i2vlib.records.study import validation_scores

    result = {}
    for step in steps:
        result[str(step)] = validation_scores(public_model(public, run, step, dropout))
        print(f"step {step}: " + ", ".join(f"{k} {v:.3f}" for k, v in result[str(step)].items()
                                            if isinstance(v, float)), flush=True)
    record = {"run": Path(run).name, "dropout_at_test": dropout, "curve": result}
    if out:
        write_json(out, record)
    return record


def book_model(run: str, step: int):
    """The book run's model at ``step``: its snapshot there, or the run's last checkpoint when it ends at ``step``,
    as it would ship (the generator's moving average)."""
    from i2vlib.checkpoint import read_checkpoint
    from i2vlib.records.study import shipped_generator

    snap = Path(run) / "snapshots" / f"step-{step}.pt"
    ckpt = read_checkpoint(snap if snap.is_file() else run)
    if int(ckpt["step"]) != step:
        raise I2VError(f"{run} holds no snapshot at step {step}")
    return shipped_generator(ckpt)


def frames(public: str, run: str, book_run: str, steps, out: str, faces: int = 2, dropout: bool = True) -> Path:
    """The picture described in the module's docstring, written to ``out`` (PNG)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from i2vlib.evaluate import test_clips
    from i2vlib.records.study import VALIDATION_VIDEOS

    at = (0.0, 0.5, 1.0)
    first = book_model(book_run, steps[0])
    clips = test_clips(first, n=VALIDATION_VIDEOS, frames=16, seed=0, split="val")[:faces]

    def strip(model):
        return np.concatenate([np.concatenate(list(model.generate(c.frames[0], list(at), expression=c.expression)),
                                              axis=1) for c in clips], axis=1)

    truth = np.concatenate([np.concatenate([c.frames[int(np.argmin(np.abs(c.intensity - a)))] for a in at], axis=1)
                            for c in clips], axis=1)
    rows, labels = [truth], ["truth"]
    for step in steps:
        rows += [strip(public_model(public, run, step, dropout)), strip(book_model(book_run, step))]
        labels += [f"public code, step {step}", f"book (paper recipe), step {step}"]
    grid = np.clip(np.concatenate(rows, axis=0), 0, 255).astype(np.uint8)
    size = grid.shape[0] // len(rows)
    fig = plt.figure(figsize=(grid.shape[1] * 2 / 100 + 2.2, grid.shape[0] * 2 / 100 + 0.4), dpi=100)
    ax = fig.add_axes([2.2 / fig.get_figwidth(), 0.2 / fig.get_figheight(), grid.shape[1] * 2 / 100 / fig.get_figwidth(),
                       grid.shape[0] * 2 / 100 / fig.get_figheight()])
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([size * (i + 0.5) for i in range(len(rows))], labels, fontsize=9)
    ax.set_xticks([size * (i + 0.5) for i in range(len(at) * len(clips))],
                  [f"a = {a:g}" for _ in clips for a in at], fontsize=9)
    ax.tick_params(length=0)
    for k in range(1, len(clips)):
        ax.axvline(k * len(at) * size - 0.5, color="white", lw=2)
    out = Path(out)
    fig.canvas.draw()
    picture = Image.fromarray(np.asarray(fig.canvas.buffer_rgba())[..., :3])
    plt.close(fig)
    picture.quantize(256, dither=Image.Dither.NONE).save(out, optimize=True)   # flat faces: a palette loses little
    print(f"wrote {out}", flush=True)
    return out


def main(argv=None) -> int:
    p = ArgumentParser(prog="public_affinegan.py", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data")
    d.add_argument("out")
    d.add_argument("--expression", default="happy")
    t = sub.add_parser("train")
    for q in (t,):
        q.add_argument("--public", required=True, help="the public code's folder (a clone of sunlightsgy/AffineGAN)")
        q.add_argument("--data", required=True)
        q.add_argument("--run", required=True)
        q.add_argument("--steps", type=int, default=8000)
        q.add_argument("--ngf", type=int, default=16)
        q.add_argument("--expression", default="happy")
    s = sub.add_parser("score")
    s.add_argument("--public", required=True)
    s.add_argument("--run", required=True)
    s.add_argument("--steps", type=int, nargs="+", default=[1000, 2000, 5000, 8000])
    s.add_argument("--out", default=None)
    s.add_argument("--eval", action="store_true", help="dropout off at test time (the public generate.py's --eval)")
    f = sub.add_parser("frames")
    f.add_argument("--public", required=True)
    f.add_argument("--run", required=True)
    f.add_argument("--book-run", required=True, help="a run of the upsampling study's transposed arm")
    f.add_argument("--steps", type=int, nargs="+", default=[1000, 2000, 5000, 8000])
    f.add_argument("--faces", type=int, default=2)
    f.add_argument("--out", default=str(ROOT / "i2vlib" / "studies" / "public_affinegan.png"))
    args = p.parse_args(argv)
    try:
        if args.cmd == "frames":
            frames(args.public, args.run, args.book_run, args.steps, args.out, args.faces)
        elif args.cmd == "data":
            write_data(args.out, args.expression)
        elif args.cmd == "train":
            train_public(args.public, args.data, args.run, args.steps, args.ngf, args.expression)
        else:
            score(args.public, args.run, args.steps, args.out, dropout=not args.eval)
    except I2VError as e:
        print(f"public_affinegan.py: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        sys.exit(main())
