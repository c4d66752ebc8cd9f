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
import contextlib
import errno
import functools
import logging
import math
import os
import re
import select
import signal
import sys
import threading


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


def finite_number(lo: float = -math.inf, hi: float = math.inf):
    """An argparse type: a finite real number from ``lo`` to ``hi``; ``nan``, ``inf``, ``1e400`` and numbers out of
    range are refused with the text quoted as typed (``'-1e-300'``, ``'1.0000000000000002'``)."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"not a finite number: {text!r}")
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"must lie in [{lo:g}, {hi:g}]: {text!r}")
        return value
    return parse


# What argparse takes for a negative number rather than an option: every float literal (argparse's own pattern
# misses -inf, -1e-300 and -.5e3, which then read as unknown options: "expected at least one argument").
_NEGATIVE_NUMBER = re.compile(r"^-(?:\d|\.\d|inf(?:inity)?$|nan$)", re.IGNORECASE)


class ArgumentParser(argparse.ArgumentParser):
    """argparse as every command line of the library parses: a usage mistake is one line, ``PROG: error: MESSAGE
    (see PROG --help)`` and exit status 2, instead of the usage block and the message; an option is spelled in full
    (no abbreviations, ``--int`` is not ``--intensities``, in ``--opt=value`` too); an option given twice is
    refused however it is spelled (``--fps 8 --fps=30``), not settled by the last; and a negative number of any
    spelling (``-inf``, ``-1e-300``) is a value, so that its own check can quote it."""

    def __init__(self, *args, **kwargs):
        kwargs["allow_abbrev"] = False
        super().__init__(*args, **kwargs)
        self._negative_number_matcher = _NEGATIVE_NUMBER
        self._given = {}

    def parse_known_args(self, args=None, namespace=None):
        self._given = {}
        namespace, extras = super().parse_known_args(args, namespace)
        for token in extras:     # what argparse would have taken for an abbreviation: name the option in full
            name = token.split("=", 1)[0]
            full = sorted(o for o in self._option_string_actions if name.startswith("--") and o.startswith(name))
            if full:
                self.error(f"{name} is not an option (options are spelled in full): {' or '.join(full)}?")
        return namespace, extras

    def _get_values(self, action, arg_strings):
        # argparse calls this once per occurrence of an option, whichever of its spellings was typed
        if action.option_strings:
            if id(action) in self._given:
                several = action.nargs in ("+", "*") or isinstance(action.nargs, int) and action.nargs > 1
                self.error(f"{'/'.join(action.option_strings)} is given twice; give it once"
                           + (", followed by all its values" if several else ""))
            self._given[id(action)] = True
        return super()._get_values(action, arg_strings)

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


class Terminated(BaseException):
    """SIGTERM or SIGHUP (a ``kill``, a closed terminal) while a command runs: raised where the program is, as Ctrl-C
    raises KeyboardInterrupt, so that every writer removes its temporary files on the way out."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


# The signals that end a command: each raises where the program is (SIGINT KeyboardInterrupt, the others Terminated).
TERMINATING = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))
_state = {"critical": 0, "pending": None, "stopping": False}


@contextlib.contextmanager
def signals_deferred():
    """Hold a terminating signal that arrives inside the block until the block ends: what must not be cut in two (a
    folder swapped for another, a video renamed after its sidecar) is done whole, and the signal acts after it."""
    _state["critical"] += 1
    try:
        yield
    finally:
        _state["critical"] -= 1
        if not _state["critical"] and _state["pending"] is not None:
            signum, _state["pending"] = _state["pending"], None
            _raise_for(signum)


def _on_signal(signum, frame):
    if _state["stopping"]:           # a second signal while the first one's clean-up runs: let the clean-up end
        return
    if _state["critical"]:
        _state["pending"] = signum
        return
    _raise_for(signum)


def _raise_for(signum: int):
    _state["stopping"] = True
    if signum == signal.SIGINT:
        raise KeyboardInterrupt
    raise Terminated(signum)


@contextlib.contextmanager
def _terminating_signals():
    """While a command runs, SIGINT, SIGTERM and SIGHUP raise in its main thread (:func:`_on_signal`); a signal the
    command started with ignored (``nohup``, a shell's background job) stays ignored."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    before = {}
    for signum in TERMINATING:
        handler = signal.getsignal(signum)
        if handler is not signal.SIG_IGN and handler is not None:
            before[signum] = signal.signal(signum, _on_signal)
    _state.update(critical=0, pending=None, stopping=False)
    try:
        yield
    finally:
        for signum, handler in before.items():
            signal.signal(signum, handler)
        _state.update(critical=0, pending=None, stopping=False)


def os_error(e: OSError, path=None, doing: str = "write") -> str:
    """An OSError in one line that names the path and the cause: ``cannot write o.gif: Read-only file system``."""
    path = path if path is not None else e.filename
    cause = (e.strerror or str(e) or type(e).__name__) + _HINTS.get(e.errno, "")
    return f"cannot {doing} {path}: {cause}" if path is not None else f"cannot {doing}: {cause}"


_HINTS = {errno.EPERM: " (an immutable or append-only file? lsattr shows it)",
          errno.EFBIG: " (a limit on the size of files: ulimit -f)"}


def run_command(name: str, main, *args, interrupted=None) -> int:
    """``main(*args)`` as a command line runs it, its exit status returned: an :class:`I2VError` is the one line
    ``NAME: error: ...`` and status 2; Ctrl-C is ``NAME: interrupted`` and 130, SIGTERM and SIGHUP ``NAME: terminated
    (SIGTERM)`` and 128 + the signal's number, each after ``interrupted()`` (which may tidy the terminal) and after
    every writer removed its temporary files; a reader that closed standard output ends the command quietly with 141,
    the status of a process that SIGPIPE ended; any other OSError (a full disk, a read-only one) is one line naming
    the path and the cause, and 2. Output is written so that a character the terminal's encoding lacks never fails
    (:func:`safe_output`); the library's :data:`notes` are shown, one line each."""
    safe_output()
    if not any(isinstance(h, _Notes) for h in notes.handlers):
        notes.addHandler(_Notes())
    try:
        with _terminating_signals():
            code = main(*args) or 0
            sys.stdout.flush()
        return code
    except I2VError as e:
        print(f"{name}: error: {e}", file=sys.stderr)
        return 2
    except (KeyboardInterrupt, Terminated) as e:
        if interrupted is not None:
            interrupted()
        if isinstance(e, Terminated):
            print(f"{name}: terminated ({e})", file=sys.stderr)
            return 128 + e.signum
        print(f"{name}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError as e:
        if not _reader_gone(sys.stdout):    # some other pipe (a subprocess's): not the reader's choice
            print(f"{name}: error: {os_error(e, doing='write to a pipe')}", file=sys.stderr)
            return 2
        _discard_output()
        return 128 + signal.SIGPIPE
    except OSError as e:
        if e.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG) and e.filename is None:
            _discard_output()               # standard output itself is full (i2v zoo > /dev/full)
        print(f"{name}: error: {os_error(e)}", file=sys.stderr)
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
