"""The one user-facing error type, and the edges of every command line.

Anything a reader can cause with bad input (a corrupt image, an unknown expression,
an empty folder) raises :class:`I2VError` with a one-line message. The CLI prints it
as ``i2v: error: ...`` and exits with status 2, never with a traceback.

Every command line of the library (``i2v`` and each ``python -m i2vlib....`` entry point) parses with
:class:`ArgumentParser`, so a usage mistake is one line too, and runs through :func:`run_command`, so that
an I2VError, a Ctrl-C, a closed pipe (``i2v zoo | head -n 1``), a full disk and a terminal that cannot show
a character end the way a shell tool's do.
"""

import argparse
import codecs
import errno
import functools
import logging
import os
import select
import signal
import sys


class I2VError(Exception):
    """A problem with the user's input, explained in one line."""


# The library's one-line notes to the reader (what a model makes of a photo, how many faces it found): warnings of
# this logger, shown on standard error where nothing else is configured, and by every command line (run_command).
notes = logging.getLogger("i2vlib")


class _Notes(logging.Handler):
    """A command's notes: the message alone, one line on the standard error of the moment."""

    def emit(self, record):
        print(record.getMessage(), file=sys.stderr, flush=True)


def check_names(names, allowed, what: str) -> tuple[str, ...]:
    """``names`` as a tuple when there is at least one and every one is in ``allowed``;
    otherwise one line naming the unknown ones and the choices (``what``: "expression", ...)."""
    names = tuple(names)
    bad = [n for n in names if n not in allowed]
    if bad or not names:
        raise I2VError(f"unknown {what} {', '.join(map(repr, bad)) or '(none given)'}; "
                       f"choose one of {', '.join(allowed)}")
    return names


def whole_number(lo: int, hi: int | None = None):
    """An argparse type: a whole number from ``lo`` to ``hi`` (no upper bound where ``hi`` is None)."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
        if hi is None and value < lo:
            raise argparse.ArgumentTypeError(f"must be at least {lo}: {value}")
        if hi is not None and not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must lie in [{lo}, {hi}]: {value}")
        return value
    return parse


class ArgumentParser(argparse.ArgumentParser):
    """argparse whose usage mistakes are one line, like every other error: ``PROG: error: MESSAGE (see PROG
    --help)`` and exit status 2, instead of the usage block and the message."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def run_command(name: str, main, *args, interrupted=None) -> int:
    """``main(*args)`` as a command line runs it, its exit status returned: an :class:`I2VError` is the one line
    ``NAME: error: ...`` and status 2; Ctrl-C is ``NAME: interrupted`` and 130 (after ``interrupted()``, which may
    tidy the terminal); a reader that closed standard output ends the command quietly with 141, the status of a
    process that SIGPIPE ended; a full disk is one line and 2. Output is written so that a character the terminal's
    encoding lacks never fails (:func:`safe_output`); the library's :data:`notes` are shown, one line each."""
    safe_output()
    if not any(isinstance(h, _Notes) for h in notes.handlers):
        notes.addHandler(_Notes())
    try:
        code = main(*args) or 0
        sys.stdout.flush()
        return code
    except I2VError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        if interrupted is not None:
            interrupted()
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        if not _reader_gone(sys.stdout):
            raise                       # some other pipe (a subprocess's): not the reader's choice
        _discard_output()
        return 128 + signal.SIGPIPE
    except OSError as e:
        if e.errno not in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise
        _discard_output()
        print(f"{name}: error: cannot write: {e.strerror}", file=sys.stderr)
        return 2


def command_line(name: str):
    """A decorator of a module's ``main(argv=None) -> int``: it runs through :func:`run_command` as ``NAME``."""
    def wrap(main):
        @functools.wraps(main)
        def run(argv=None) -> int:
            return run_command(name, main, argv)
        return run
    return wrap


def safe_output() -> None:
    """Standard output and error never fail on a character their encoding lacks (a non-ASCII file name under
    ``LANG=C``): a name's undecodable bytes are written back as they came, other characters as escapes."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.reconfigure(errors="i2v-shown")
        except (AttributeError, ValueError, OSError):   # not a text stream of ours (a test's capture, a closed one)
            pass


def _shown(e: UnicodeEncodeError):
    text = e.object[e.start:e.end]
    if all(0xDC80 <= ord(c) <= 0xDCFF for c in text):  # bytes of a name the locale could not decode
        return codecs.lookup_error("surrogateescape")(e)
    return codecs.lookup_error("backslashreplace")(e)


codecs.register_error("i2v-shown", _shown)


def _reader_gone(stream) -> bool:
    """Whether ``stream`` is a pipe whose reader has closed it (POLLERR on its write end)."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):     # no descriptor of its own (a test's capture)
        return False
    if not hasattr(select, "poll"):
        return True
    poll = select.poll()
    poll.register(fd, select.POLLOUT)
    return any(ev & select.POLLERR for _, ev in poll.poll(0))


def _discard_output() -> None:
    """Point standard output at /dev/null, so that the interpreter's last flush at exit fails no more."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass
