"""``i2v`` and ``python -m i2vlib``: the command line (:mod:`i2vlib.cli`), entered so that a Ctrl-C while the
library loads (torch's import takes seconds) ends like one later: ``i2v: interrupted`` and exit status 130."""

import os
import sys


def main(argv=None) -> int:
    try:
        from .cli import main as run   # noqa: PLC0415  (the import is what a Ctrl-C may interrupt)
    except KeyboardInterrupt:
        print("i2v: interrupted", file=sys.stderr, flush=True)
        # Not `return 130`: an interrupt that passed through an extension's embedded Python (torch's start-up)
        # marks the interpreter, which then ends itself by SIGINT at exit whatever the status. Nothing is written yet.
        os._exit(130)
    return run(argv)


if __name__ == "__main__":
    sys.exit(main())
