"""The ``i2v`` command: ``synth``, ``prepare``, ``contact-sheet``, ``zoo``, ``claims``, ``train``, ``generate``,
``evaluate`` and ``export`` (every option: ``i2v COMMAND --help`` and the book's CLI reference, ``book/reference/cli.md``). Each command is
a parser function, here, and a function that runs it, in :mod:`i2vlib.cli_commands`; what they run lives in the library.

Bad input ends with one line, ``i2v: error: ...``, and exit status 2; no traceback and
no half-written output.
"""

from __future__ import annotations

import argparse
import sys

from tqdm import tqdm

from .claims import PAPERS
from .cli_commands import (_claims, _contact_sheet, _evaluate, _export, _gate, _generate, _prepare, _synth, _train,
                           _zoo)
from .clip_record import EXPRESSIONS
from .data.curves import CURVES
from .errors import ArgumentParser, finite_number, run_command, whole_number
from .models import METHODS
from .onnx_export import WEIGHTS
from .protocol.gates import ROLES
from .protocol.references import MUST_FAIL, MUST_PASS
from .protocol.tables import MEASURE as TABLES_MEASURED

REFERENCES = {name.replace(" ", "-") for name in (*MUST_FAIL, *MUST_PASS)}
from .version import __version__


def main(argv=None) -> int:
    """Run ``i2v ARGV``: its exit status (:func:`i2vlib.errors.run_command`: one line and 2 on bad input, 130 on
    Ctrl-C, 141 quietly when the reader of its output has gone)."""
    return run_command("i2v", _run, argv, interrupted=_close_progress_bars)


def _run(argv) -> int:
    args = _parser().parse_args(argv)
    return args.run(args)


def _close_progress_bars() -> None:
    """Close the bars an interrupted loop left open, so that the message starts a line of its own."""
    for bar in list(getattr(tqdm, "_instances", ())):
        bar.close()


class _Parser(ArgumentParser):
    """The library's parser (a usage mistake is one line), its line in i2v's words: ``i2v: error: COMMAND: ...``."""

    def error(self, message):
        command = self.prog.removeprefix("i2v").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"i2v: error: {where}{message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="i2v", description="Facial image-to-video translation: the i2v book's tools.")
    p.add_argument("--version", action="version", version=f"i2vlib {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)
    for add in (_synth_parser, _prepare_parser, _zoo_parser, _claims_parser, _gate_parser, _contact_sheet_parser,
                _train_parser, _generate_parser, _evaluate_parser, _export_parser):
        add(sub)
    return p


def _synth_parser(sub) -> None:
    s = sub.add_parser("synth", help="write synthetic expression videos in the AffineGAN folder layout "
                                     "(--kind pose: articulated-figure videos with joints)")
    s.add_argument("out", help="output folder (must not exist, or be empty, unless --overwrite)")
    s.add_argument("--kind", choices=["faces", "pose"], default="faces",
                   help="faces (default): expression videos; pose: the pose benchmark (FRGAN's Penn Action stand-in)")
    s.add_argument("--videos", type=_positive("videos"), help="videos per expression (pose: per action) and split "
                                                     "(default: faces 10, pose 2)")
    s.add_argument("--size", type=_positive("size"), default=64, help="frame size in pixels (default 64)")
    s.add_argument("--expressions", nargs="+", metavar="NAME",
                   help=f"expressions to write (faces only; default: all of {', '.join(EXPRESSIONS)})")
    s.add_argument("--curves", nargs="+", metavar="NAME",
                   help=f"intensity curves, cycled over the videos (faces only; {', '.join(CURVES)}; default linear)")
    s.add_argument("--profile", nargs="*", help=argparse.SUPPRESS)  # the old name of --curves: a clear error
    s.add_argument("--splits", nargs="+", metavar="SPLIT",
                   help="person-disjoint splits to write (faces: train, val, test, default train test; "
                        "pose: forecast, refine, test, default all three)")
    s.add_argument("--frames", nargs="+", type=_positive("frames"), metavar="N",
                   help="faces: the video length range MIN MAX (default 8 32); pose: the video length T "
                        "(default 48, at least 42)")
    s.add_argument("--seed", type=_seed, default=0)
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(run=_synth)


def _prepare_parser(sub) -> None:
    r = sub.add_parser("prepare", help="detect, landmark, align and crop face videos or photos")
    r.add_argument("src", help="CK+, MUG or AffineGAN-layout folder, a folder of videos, frame folders or photos")
    r.add_argument("out", help="output folder (AffineGAN layout)")
    r.add_argument("--size", type=_positive("size"), default=128, help="output frame size (default 128)")
    r.add_argument("--landmarks", choices=["dlib", "face-alignment"], default="dlib",
                   help="landmark backend (dlib works offline; face-alignment downloads weights on first use)")
    r.add_argument("--expression", metavar="NAME",
                   help="label clips whose source names no expression (a folder of videos or photos) with NAME, "
                        f"one of {', '.join(EXPRESSIONS)} (default: unlabelled)")
    r.add_argument("--overwrite", action="store_true")
    r.set_defaults(run=_prepare)


def _zoo_parser(sub) -> None:
    z = sub.add_parser("zoo", help="list the trained models shipped in the zoo (load them as zoo:NAME)")
    z.add_argument("--json", action="store_true", help="print each shipped model's steps, config and scores as JSON")
    z.set_defaults(run=_zoo)


def _claims_parser(sub) -> None:
    c = sub.add_parser("claims", help="every claim of the three papers with its verdict, judged from the recorded runs "
                                      "(trains nothing)")
    c.add_argument("--paper", choices=list(PAPERS), help="one paper's claims (default: all three)")
    c.add_argument("--json", action="store_true", help="print the protocol's id and the claims as JSON: each with "
                                                       "its verdict in the round of record and the exploratory one, "
                                                       "each rung's verdict, measurement and the seeds of each arm")
    c.set_defaults(run=_claims)


def _gate_parser(sub) -> None:
    g = sub.add_parser("gate", help="apply a table's gates to a model: does it render a face, move toward the truth "
                                    "and keep its identity? (exit 0: passes, 1: fails)")
    g.add_argument("model", help="a run directory, checkpoint, zoo:NAME, or reference:NAME (one of the model-free "
                                 f"references: {', '.join(sorted(REFERENCES))})")
    g.add_argument("--table", required=True, choices=list(TABLES_MEASURED),
                   help="the table whose gates apply (its measure scores the model as it scores the table's arms)")
    g.add_argument("--role", choices=list(ROLES), default=ROLES[0],
                   help="comparator (default: a baseline or the paper's full model) or ablation (failure only)")
    g.add_argument("--json", action="store_true", help="print the gates' values and bounds as JSON")
    g.add_argument("--device", default="cpu", help="where the model runs (default cpu)")
    g.set_defaults(run=_gate)


def _contact_sheet_parser(sub) -> None:
    c = sub.add_parser("contact-sheet", help="a PNG of every expression at five intensities for a few identities")
    c.add_argument("out", help="PNG file to write")
    c.add_argument("--size", type=_positive("size"), default=64)
    c.add_argument("--identities", nargs="+", type=int, default=[9, 19, 29], metavar="INDEX",
                   help="benchmark identity indices (default: three test identities)")
    c.add_argument("--seed", type=_seed, default=0)
    c.set_defaults(run=_contact_sheet)


def _train_parser(sub) -> None:
    t = sub.add_parser("train", help="train a method; checkpoints, loss log and run.json go to --out")
    t.add_argument("method", help=f"method to train: {', '.join(METHODS)}")
    t.add_argument("--data", default="synthetic", help="synthetic (default), or a folder in the AffineGAN layout")
    t.add_argument("--profile", help="smoke, book (default) or paper: steps, sizes, widths")
    t.add_argument("--out", required=True, help="run directory (new or empty, unless --resume)")
    t.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    t.add_argument("--steps", type=_positive("steps"), help="training steps (default: the profile's)")
    t.add_argument("--size", type=_positive("size"),
                   help="image size in pixels, a power of two of at least 32 (default: the profile's)")
    t.add_argument("--expressions", nargs="+", metavar="NAME", help="expressions (default: happy)")
    t.add_argument("--seed", type=_seed, help="seed of weights and batches (default 0)")
    t.add_argument("--set", nargs="+", action="extend", default=[], metavar="KEY=VALUE", dest="options",
                   help="further options, values as JSON, e.g. mix=\"bottleneck\" batch=8 detach_a=true")
    t.add_argument("--device", default="auto", help="auto (default: cuda, mps, then cpu), cpu, cuda, ...")
    t.add_argument("--compile", action="store_true", help="torch.compile the generator")
    t.add_argument("--amp", choices=["auto", "off", "bf16", "fp16"], default="auto",
                   help="mixed precision: auto (default: bf16 on GPUs that have it, else fp16 with a gradient "
                        "scaler; off on the CPU), off, bf16, fp16")
    t.add_argument("--checkpoint-every", type=_positive("steps"),
                   help="steps between checkpoints (default: the profile's)")
    t.add_argument("--snapshots", nargs="+", type=_positive("steps"), default=[], metavar="STEP",
                   help="also keep the generator at these steps, as RUN_DIR/snapshots/step-N.pt (a learning curve)")
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.set_defaults(run=_train)


def _generate_parser(sub) -> None:
    g = sub.add_parser("generate", help="render a video from one face image and a list of intensities")
    g.add_argument("model", help="run directory, checkpoint file, or zoo:NAME (a model shipped in the zoo)")
    g.add_argument("image", help="a photo of any size (its largest face is found, animated and pasted back), a face "
                                 "crop at the model's size (as i2v prepare writes), or synthetic:K for the neutral "
                                 "face of test identity K")
    g.add_argument("--intensities", nargs="+", type=finite_number(0, 1), metavar="A",
                   help="one frame per intensity in [0, 1] "
                        "(default: 16 values from 0 to 1; a fixed-clip baseline, convlstm, hp, vgan, mcnet, mocogan or fgst: its own)")
    g.add_argument("--expression", help="expression to render (needed when the model knows several)")
    g.add_argument("--mix", nargs="+", default=[], metavar="EXPR=A,A,...",
                   help="mix expressions instead, e.g. happy=0,0.5,1 surprise=0,0.2,0.4")
    g.add_argument("--reference", metavar="VIDEO",
                   help="retarget instead: the face performs this video's motion (a video file or a folder "
                        "of numbered PNG frames; frgan models)")
    g.add_argument("--face", type=whole_number(1), metavar="K",
                   help="animate the photo's K-th largest face (default: the largest; the count is said)")
    g.add_argument("--no-paste", action="store_true",
                   help="write the animated face crop at the model's size, not the photo with the face pasted back")
    g.add_argument("--whole-image", action="store_true",
                   help="find no face: animate the whole image, centre-cropped and squashed to the model's size")
    g.add_argument("--out", required=True, help="output .gif, .mp4, or a folder of PNGs")
    g.add_argument("--fps", type=finite_number(), default=8.0)
    g.add_argument("--device", default="cpu")
    g.set_defaults(run=_generate)


def _evaluate_parser(sub) -> None:
    e = sub.add_parser("evaluate", help="score a trained model on test videos (ACD, landmarks, intensity, PSNR/SSIM)")
    e.add_argument("model", help="run directory, checkpoint file, or zoo:NAME (a model shipped in the zoo)")
    e.add_argument("--data", default="synthetic", help="synthetic (default), or a folder (AffineGAN layout, CK+, ...)")
    e.add_argument("--split", default="test", help="split to evaluate (default test)")
    e.add_argument("--videos", type=_positive("videos"),
                   help="number of videos (default: 10 per expression; a folder: all)")
    e.add_argument("--instrument", choices=["auto", "synthetic", "dlib"], default="auto",
                   help="how faces are measured (auto: synthetic for the benchmark, dlib for real faces)")
    e.add_argument("--seed", type=_seed, default=0, help="benchmark seed (synthetic data)")
    e.add_argument("--out", required=True, help="metrics JSON file to write")
    e.add_argument("--device", default="cpu")
    e.set_defaults(run=_evaluate)


def _export_parser(sub) -> None:
    x = sub.add_parser("export", help="write a generator as an ONNX model (face and intensities in, frame out)")
    x.add_argument("model", help="run directory, checkpoint file, or zoo:NAME (a model shipped in the zoo)")
    x.add_argument("--out", required=True, help="the .onnx file to write")
    x.add_argument("--weights", choices=list(WEIGHTS), default="fp16",
                   help="how the weights are stored (default fp16, computed in fp32; the zoo's weights are fp16)")
    x.set_defaults(run=_export)


# The largest counts and sizes the commands take: what a machine of this book's (2 cores, 24 GiB) can hold.
LIMITS = {"size": 1024, "videos": 10_000, "frames": 1000, "steps": 10_000_000}


def _positive(limit: str):
    """An argparse type: a whole number from 1 to ``LIMITS[limit]``."""
    return whole_number(1, LIMITS[limit])


_seed = whole_number(0, 2**32 - 1)   # a seed: what numpy's generators take


if __name__ == "__main__":
    sys.exit(main())
