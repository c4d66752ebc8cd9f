"""``i2v`` and ``python -m i2vlib``: the command line (:mod:`i2vlib.cli`), entered so that a Ctrl-C while the
library loads (torch's import takes seconds) ends like one later: ``i2v: interrupted`` and exit status 130."""

import sys


def main(argv=None) -> int:
    try:
        from .cli import main as run   # noqa: PLC0415  (the import is what a Ctrl-C may interrupt)
    except KeyboardInterrupt:
        print("i2v: interrupted", file=sys.stderr)
        return 130
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
