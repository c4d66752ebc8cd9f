"""The FRGAN chapters and the comparison, without executing them (tests/test_book.py executes every toc
notebook in the smoke profile): the chapters that train FRGAN build their configs with the library function, the
ablations supply every FRGAN claim (through :mod:`i2vlib.claims.evidence`), and the table of contents lists them."""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

from i2vlib.claims import evidence, registry

ROOT = Path(__file__).resolve().parents[1]
FRGAN = ["notebooks/frgan/derivation", "notebooks/frgan/training", "notebooks/frgan/ablations", "notebooks/frgan/pose"]
COMPARISON = "notebooks/comparison/comparison"
SHARING_RUNS = ["notebooks/frgan/training"]      # the comparison reads the zoo: it trains nothing


def _code(page: str) -> list[str]:
    nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    return [c.source for c in nb.cells if c.cell_type == "code"]


def test_the_chapters_that_share_runs_build_them_with_the_library():
    """A config that differed between chapters would change its hash and train the same model twice."""
    for page in SHARING_RUNS:
        assert "frgan.chapter_config(PROFILE" in "\n".join(_code(page))
        assert not any(re.search(r"^def (budget|forecast_config|refine_config)\(", src, re.M) for src in _code(page))
    for page in FRGAN[1:3]:    # retargeting is scored by the library, the same in both chapters
        assert any("from i2vlib.evaluate import retarget" in src or "from i2vlib.evaluate.retarget import" in src
                   for src in _code(page)), f"{page} does not score retargeting with i2vlib.evaluate.retarget"
        assert not any("def score(" in src or "def retarget_cases(" in src for src in _code(page))


@pytest.mark.parametrize("page", [*FRGAN, COMPARISON])
def test_parameters_come_first_and_the_colab_cell_installs_the_library(page):
    nb = nbformat.read(ROOT / f"{page}.ipynb", as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert "parameters" in code[0].metadata.get("tags", [])
    assert re.search(r'^PROFILE = "book"', code[0].source, re.M)
    assert '"google.colab" in sys.modules' in code[1].source
    assert "i2v.render.setup(PROFILE" in code[1].source      # the profile, the plot style, the environment printed
    assert not any(c.outputs or c.execution_count for c in code), f"{page}: commit notebooks without outputs"


def test_the_ablations_and_the_pose_chapter_supply_every_frgan_claim():
    for claim in registry("frgan"):
        if claim.chapter == "baselines/baselines":    # Tables 1 and 3: measured with the chapter's other tables
            source = "\n".join(_code(f"notebooks/{claim.chapter}"))
            assert 'evidence.chapter("baselines/baselines"' in source and '"frgan": ["frgan-baselines"' in source
            assert "i2v.render.show_claims(here, rungs=rungs_" in source
            continue
        assert claim.chapter in ("frgan/ablations", "frgan/pose")
        source = "\n".join(_code(f"notebooks/{claim.chapter}"))
        assert f'c.chapter == "{claim.chapter}"' in source and "i2v.render.show_claims(HERE, rungs=RUNGS)" in source
        assert f'evidence.chapter("{claim.chapter}"' in source     # measured as the claim declares it
        assert claim.measure in evidence.chapter(claim.chapter, {}).measurements, \
            f"{claim.chapter} supplies no measurement {claim.measure!r}"


def test_the_toc_lists_the_frgan_chapters_and_the_comparison_after_the_papers():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    parts = {p["caption"]: [c["file"] for c in p["chapters"]] for p in toc["parts"]}
    frgan = next(files for caption, files in parts.items() if caption.startswith("FRGAN"))
    assert frgan == ["book/frgan/overview", *FRGAN]
    captions = list(parts)
    where = next(i for i, files in enumerate(parts.values()) if COMPARISON in files)
    papers = [i for i, c in enumerate(captions) if c.startswith(("Fan et al.", "AffineGAN", "FRGAN"))]
    assert len(papers) == 3 and where > max(papers)

