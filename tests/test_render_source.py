"""Tests for i2vlib.render.source: a method's loss table and the library's source, shown in the chapters."""

from __future__ import annotations

import inspect
import textwrap

import pytest

from i2vlib import render as R
from i2vlib.models import affinegan, convlstm, fan

pytest.importorskip("IPython")


def test_source_code_is_the_library_source_in_a_python_block():
    md = R.source_code(fan.Trainer.forward, fan.Trainer.g_terms)
    text = md.data
    assert text.startswith("```python\n# i2vlib.models.fan.Trainer.forward\ndef forward(self")
    assert text.endswith("\n```")
    assert "\n# i2vlib.models.fan.Trainer.g_terms\ndef g_terms(self" in text
    # read from the library, dedented, not a copy
    assert textwrap.dedent(inspect.getsource(fan.Trainer.g_terms)).rstrip() in text
    assert md._repr_markdown_() == text


def test_source_code_fence_outgrows_backticks_in_the_source():
    def has_fence():
        return "```"

    text = R.source_code(has_fence).data
    assert text.startswith("````python\n") and text.endswith("\n````")


@pytest.mark.parametrize("method", [affinegan, fan, convlstm])
def test_loss_table_lists_every_term_with_its_weight(method):
    cfg = method.default_config("smoke")
    text = R.loss_table(method.Trainer, cfg).data
    lines = text.splitlines()
    assert lines[0] == "| half | term | weight key | weight | equation |"
    rows = method.Trainer.loss_table()
    assert len(lines) == 2 + len(rows) == 2 + len(method.Trainer.d_losses) + len(method.Trainer.g_losses)
    for line, row in zip(lines[2:], rows):
        cells = [c.strip() for c in line.strip("|").split("|")]
        assert cells == [row["half"], f"`{row['term']}`", f"`{row['weight']}`",
                         f"{cfg['weights'][row['weight']]:g}", row["equation"]]


def test_loss_table_marks_terms_switched_off_and_defaults_to_the_method_config():
    cfg = fan.default_config("smoke", weights={"t": 0.0})
    text = R.loss_table(fan.Trainer, cfg).data
    assert "| generator | `t` | `t` | 0 (off) | Eq. 5 |" in text
    assert "| generator | `r` | `r` | 100 |" in R.loss_table(fan.Trainer).data
