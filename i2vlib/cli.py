"""The ``i2v`` command.

    i2v synth OUT --videos N --size S [--expressions ...] [--profile ...] [--seed K]
    i2v prepare SRC OUT --size S [--landmarks dlib|face-alignment]
    i2v contact-sheet OUT.png [--size S] [--identities K ...]

Bad input ends with one line, ``i2v: error: ...``, and exit status 2; no traceback and
no half-written output.
"""

from __future__ import annotations

import argparse
import sys
import time

from . import EXPRESSIONS, __version__
from .errors import I2VError


def main(argv=None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    try:
        return args.run(args) or 0
    except I2VError as e:
        print(f"i2v: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("i2v: interrupted", file=sys.stderr)
        return 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line (``i2v: error: ...``) like every other error."""

    def error(self, message):
        command = self.prog.removeprefix("i2v").strip()
        where = f"{command}: " if command else ""
        self.exit(2, f"i2v: error: {where}{message} (see {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    from .data.profiles import PROFILES

    p = _Parser(prog="i2v", description="Facial image-to-video translation: the i2v book's tools.")
    p.add_argument("--version", action="version", version=f"i2vlib {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_Parser)

    s = sub.add_parser("synth", help="write synthetic expression videos in the AffineGAN folder layout")
    s.add_argument("out", help="output folder (must not exist, or be empty, unless --overwrite)")
    s.add_argument("--videos", type=_positive, default=10, help="videos per expression and split (default 10)")
    s.add_argument("--size", type=_positive, default=64, help="frame size in pixels (default 64)")
    s.add_argument("--expressions", nargs="+", default=list(EXPRESSIONS), metavar="NAME",
                   help=f"expressions to write (default: all of {', '.join(EXPRESSIONS)})")
    s.add_argument("--profile", nargs="+", default=["linear"], metavar="NAME",
                   help=f"intensity profiles, cycled over the videos ({', '.join(PROFILES)}; default linear)")
    s.add_argument("--splits", nargs="+", default=["train", "test"], metavar="SPLIT",
                   help="identity-disjoint splits to write (train, val, test; default train test)")
    s.add_argument("--frames", nargs=2, type=_positive, default=[8, 32], metavar=("MIN", "MAX"),
                   help="video length range (default 8 32)")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--overwrite", action="store_true")
    s.set_defaults(run=_synth)

    r = sub.add_parser("prepare", help="detect, landmark, align and crop face videos or photos")
    r.add_argument("src", help="CK+, MUG or AffineGAN-layout folder, a folder of videos, frame folders or photos")
    r.add_argument("out", help="output folder (AffineGAN layout)")
    r.add_argument("--size", type=_positive, default=128, help="output frame size (default 128)")
    r.add_argument("--landmarks", choices=["dlib", "face-alignment"], default="dlib",
                   help="landmark backend (dlib works offline; face-alignment downloads weights on first use)")
    r.add_argument("--overwrite", action="store_true")
    r.set_defaults(run=_prepare)

    c = sub.add_parser("contact-sheet", help="a PNG of every expression at five intensities for a few identities")
    c.add_argument("out", help="PNG file to write")
    c.add_argument("--size", type=_positive, default=64)
    c.add_argument("--identities", nargs="+", type=int, default=[9, 19, 29], metavar="INDEX",
                   help="benchmark identity indices (default: three test identities)")
    c.add_argument("--seed", type=int, default=0)
    c.set_defaults(run=_contact_sheet)
    return p


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {value}")
    return value


def _synth(args) -> None:
    from .data.folders import write_affinegan
    from .data.profiles import PROFILES
    from .data.synthetic import SPLITS, SyntheticBenchmark, check_expressions

    expressions = check_expressions(args.expressions)
    for name in args.profile:
        if name not in PROFILES:
            raise I2VError(f"unknown intensity profile {name!r}; choose one of {', '.join(PROFILES)}")
    for split in args.splits:
        if split not in SPLITS:
            raise I2VError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    lo, hi = args.frames
    bench = SyntheticBenchmark(size=args.size, seed=args.seed, frames=(min(lo, hi), max(lo, hi)))

    def clips():
        for split in args.splits:
            for expression in expressions:
                for i in range(args.videos):
                    yield bench.video(split, i, expression=expression, profiles=tuple(args.profile))

    start = time.perf_counter()
    root = write_affinegan(args.out, clips(), overwrite=args.overwrite)
    n = args.videos * len(expressions) * len(args.splits)
    print(f"wrote {n} videos ({len(expressions)} expressions x {len(args.splits)} splits x {args.videos}) "
          f"at {args.size} px to {root} in {time.perf_counter() - start:.1f} s")


def _prepare(args) -> None:
    from .data.prepare import prepare

    summary = prepare(args.src, args.out, size=args.size, landmarks=args.landmarks, overwrite=args.overwrite)
    print(", ".join(f"{k}: {v}" for k, v in summary.items()))


def _contact_sheet(args) -> None:
    from .data.synthetic import SyntheticBenchmark, contact_sheet
    from .io import write_image

    bench = SyntheticBenchmark(size=args.size, seed=args.seed)
    for i in args.identities:
        if not 0 <= i < bench.n_identities:
            raise I2VError(f"identity index {i} out of range 0..{bench.n_identities - 1}")
    write_image(args.out, contact_sheet(bench, args.identities))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    sys.exit(main())
