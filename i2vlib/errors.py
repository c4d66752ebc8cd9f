"""The one user-facing error type.

Anything a reader can cause with bad input (a corrupt image, an unknown expression,
an empty folder) raises :class:`I2VError` with a one-line message. The CLI prints it
as ``i2v: error: ...`` and exits with status 2, never with a traceback.
"""

import argparse


class I2VError(Exception):
    """A problem with the user's input, explained in one line."""


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
