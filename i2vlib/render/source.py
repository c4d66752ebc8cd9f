"""The code that runs, shown in the book: a method's loss terms and the source of its functions.

Both functions return an ``IPython.display.Markdown`` object that a notebook displays and Jupyter
Book renders (a table; a syntax-highlighted ``python`` block). The source is read from the
library with :func:`inspect.getsource` when the cell runs, so a chapter shows what the library
runs, never a pasted copy that could drift from it.
"""

from __future__ import annotations

import inspect
import re
import textwrap


def _markdown(text: str):
    from IPython.display import Markdown

    return Markdown(text)


def source_code(*objects):
    """The source of ``objects`` (functions, methods, classes) as one Markdown ``python`` block.

    Each is read with :func:`inspect.getsource`, dedented, and headed by a comment naming it
    (``# i2vlib.models.fan.Trainer.g_terms``).
    """
    blocks = []
    for obj in objects:
        name = f"{obj.__module__}.{obj.__qualname__}"
        blocks.append(f"# {name}\n" + textwrap.dedent(inspect.getsource(obj)).rstrip())
    text = "\n\n".join(blocks)
    fence = "`" * max(3, 1 + max((len(m) for m in re.findall(r"`+", text)), default=0))
    return _markdown(f"{fence}python\n{text}\n{fence}")


def loss_table(trainer, config: dict | None = None):
    """A method's loss terms (``trainer.loss_table()``) as a Markdown table, with each term's weight
    in ``config`` (default: the trainer's ``default_config()``); a weight of 0 reads "0 (off)"."""
    weights = (config if config is not None else trainer.default_config())["weights"]
    rows = [f"| {r['half']} | `{r['term']}` | `{r['weight']}` | {_weight(weights[r['weight']])} | {r['equation']} |"
            for r in trainer.loss_table()]
    return _markdown("| half | term | weight key | weight | equation |\n| --- | --- | --- | --- | --- |\n"
                     + "\n".join(rows))


def _weight(w) -> str:
    return f"{float(w):g}" + (" (off)" if float(w) == 0 else "")
