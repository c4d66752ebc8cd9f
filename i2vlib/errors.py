"""The one user-facing error type.

Anything a reader can cause with bad input (a corrupt image, an unknown expression,
an empty folder) raises :class:`I2VError` with a one-line message. The CLI prints it
as ``i2v: error: ...`` and exits with status 2, never with a traceback.
"""


class I2VError(Exception):
    """A problem with the user's input, explained in one line."""
