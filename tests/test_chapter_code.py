"""Chapters import, never copy: what two chapters need lives in the library, and a chapter's prose takes its
comparison words from the library (tests/test_book.py executes the chapters; this reads their code)."""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from pathlib import Path

import numpy as np
import pytest

import i2vlib as i2v
from i2vlib import I2VError

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(p for p in (ROOT / "notebooks").rglob("*.ipynb") if p.name != "quickstart.ipynb")
BLOCK = 6   # lines


def _code(path: Path) -> list[str]:
    """A chapter's code without its parameters cell and the Colab block (both are each chapter's own by design)."""
    cells = [c for c in json.loads(path.read_text())["cells"] if c["cell_type"] == "code"]
    out = []
    for c in cells:
        if "parameters" in c.get("metadata", {}).get("tags", []):
            continue
        src = "".join(c["source"])
        if 'if "google.colab" in sys.modules:' in src:   # i2vlib.colab writes this block; the rest of the cell counts
            src = src.split("check=True)", 1)[1]
        out.append(src)
    return out


def _lines(path: Path) -> list[str]:
    keep = []
    for line in "\n".join(_code(path)).splitlines():
        line = line.strip()
        if line and not line.startswith(("#", "import ", "from ")):
            keep.append(line)
    return keep


def test_no_function_is_defined_in_two_chapters():
    where = defaultdict(set)
    for path in CHAPTERS:
        for name in re.findall(r"^def (\w+)\(", "\n".join(_code(path)), re.M):
            where[name].add(path.relative_to(ROOT).as_posix())
    twice = {name: sorted(pages) for name, pages in where.items() if len(pages) > 1}
    assert not twice, f"put these in the library: {twice}"


def test_no_block_of_code_is_repeated_across_chapters():
    where = defaultdict(set)
    for path in CHAPTERS:
        lines = _lines(path)
        for i in range(len(lines) - BLOCK + 1):
            where["\n".join(lines[i:i + BLOCK])].add(path.relative_to(ROOT).as_posix())
    repeated = [(sorted(pages), block) for block, pages in where.items() if len(pages) > 1]
    assert not repeated, f"{len(repeated)} blocks of {BLOCK} lines in several chapters, e.g. {repeated[0]}"


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda p: p.relative_to(ROOT / "notebooks").as_posix())
def test_a_chapter_sets_up_with_the_library(path):
    setup = _code(path)[0]
    assert "import i2vlib as i2v" in setup and "i2v.render.setup(PROFILE" in setup
    imports = [line for line in setup.splitlines() if line.startswith(("import ", "from "))]
    assert len(imports) <= 12, f"{path.name}: {len(imports)} imports in its setup cell"
    source = "\n".join(_code(path))
    assert not re.search(r'glue\([^)]*"(higher|lower|larger|smaller|better|worse)[^"]*" if ', source), \
        "a comparison word picked by an if: use i2v.render.compare or a claim's verdict"


def test_compare_and_spread_are_the_chapters_words():
    assert i2v.render.compare(2, 1) == "higher than" and i2v.render.compare(1, 2, "more", "less") == "less"
    assert i2v.render.compare(1, 1) == "the same as" and i2v.render.compare(None, 1) == "n/a"
    assert i2v.render.compare(math.nan, 1) == "n/a"
    with pytest.raises(I2VError, match="two numbers"):
        i2v.render.compare("high", 1)
    assert i2v.claims.spread([1.0, 2.0, 3.0]) == "2 ± 1 (n = 3)"
    assert i2v.claims.spread([0.001, None, float("nan")], scale=1e3) == "1 (n = 1)" and i2v.claims.spread([]) == "n/a"


def test_the_best_method_follows_each_scores_direction():
    means = {"a": {"acd_i": 0.2, "psnr": 30.0}, "b": {"acd_i": 0.1, "psnr": np.nan}, "c": {"acd_i": None, "psnr": 31.0}}
    assert i2v.evaluate.best(means, "acd_i") == "b" and i2v.evaluate.best(means, "psnr") == "c"
    assert i2v.evaluate.best({"a": {"psnr": None}}, "psnr") is None
    with pytest.raises(I2VError, match="no better direction"):
        i2v.evaluate.best(means, "texture")


def test_the_evaluation_baselines_bound_the_scores():
    base = i2v.evaluate.baselines(videos=3, frames=(6, 8))
    assert set(base) == {"ground truth", "copy", "blend", "shuffled truth", "another person"}
    clip = base["copy"].clips[0]
    a = i2v.data.clips.labels(clip, "true")
    assert (base["ground truth"].generate(clip.frames[0], a) == clip.frames).all()
    assert (base["copy"].generate(clip.frames[0], a) == clip.frames[0]).all()
    assert (base["blend"].generate(clip.frames[0], a)[0] == clip.frames[0]).all()          # a = 0: the input
    other = base["another person"].generate(clip.frames[0], a)
    assert other.shape == clip.frames.shape and not (other[0] == clip.frames[0]).all()
    with pytest.raises(I2VError, match="answers only"):
        base["copy"].generate(np.zeros_like(clip.frames[0]), a)
