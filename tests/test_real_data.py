"""The documented real-data workflow, end to end, on real photos that ship with installed packages.

A few short "videos" (frame folders of a slowly shifting or zooming crop) are cut from skimage's
astronaut and matplotlib's Grace Hopper; ``i2v prepare --expression happy`` turns them into a
prepared folder; then ``i2v train`` + ``i2v evaluate`` run on it from the command line, and the
AffineGAN and Fan et al. training chapters run on it with papermill (``-p DATA <folder>``) and say
which measurements they could not make. dlib works offline, so all of it runs without a network.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from i2vlib.data.folders import read_affinegan

from test_cli import i2v, i2v_here

ROOT = Path(__file__).resolve().parents[1]
FRAMES = 6          # frames per video
SIDE = 160          # pixels of the source frames (prepare crops and resizes them to 64)

pytestmark = pytest.mark.slow


def photos() -> dict:
    """The two real face photos that ship with installed packages."""
    import matplotlib.cbook as cbook
    import skimage.data

    from i2vlib.io import read_image

    return {"astronaut": skimage.data.astronaut(),
            "grace": read_image(cbook.get_sample_data("grace_hopper.jpg", asfileobj=False))}


def make_videos(root: Path) -> Path:
    """Four frame folders: each photo's face, once drifting sideways and once zooming in, plus one corrupt photo."""
    from i2vlib.faces.align import crop, crop_box
    from i2vlib.faces.landmarks import get_backend
    from i2vlib.io import write_image

    dlib = get_backend("dlib")
    for name, photo in photos().items():
        x0, y0, x1, y1 = crop_box(dlib.detect(photo).landmarks, photo.shape, scale=2.0)
        side = x1 - x0
        for motion in ("drift", "zoom"):
            for t in range(FRAMES):
                k = t / (FRAMES - 1)
                if motion == "drift":   # the box slides by a tenth of its side
                    box = (x0 + int(0.1 * side * k), y0, x1 + int(0.1 * side * k), y1)
                else:                   # the box shrinks by 15 %: the face grows
                    d = int(0.075 * side * k)
                    box = (x0 + d, y0 + d, x1 - d, y1 - d)
                write_image(root / f"{name}_{motion}" / f"{t:04d}.png", crop(photo, box, SIDE))
    (root / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot an image")
    return root


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """``i2v prepare SRC OUT --size 64 --expression happy`` on the videos, and its summary line."""
    tmp = tmp_path_factory.mktemp("real")
    src = make_videos(tmp / "videos")
    out = tmp / "prepared"
    r = i2v("prepare", src, out, "--size", 64, "--expression", "happy", cwd=ROOT)
    assert r.returncode == 0, r.stderr
    return out, r.stdout


def test_prepare_labels_splits_and_skips(prepared):
    out, summary = prepared
    assert "clips: 4" in summary and "skipped: 0" in summary and "unreadable: 1" in summary
    assert "expression: happy" in summary and "labelled: 4" in summary
    assert "splits: {'test': 1, 'train': 3}" in summary          # one of four "people" held out for testing
    ds = read_affinegan(out)
    assert ds.expressions == ["happy"] and ds.splits == ["test", "train"]
    assert [c.video_id for c in ds.filter(split="test")] == ["grace_zoom"]   # the last identity in natural order
    for clip in ds:
        assert clip.frames.shape == (FRAMES, 64, 64, 3) and clip.landmarks.shape == (FRAMES, 68, 2)
        assert clip.intensity is None and clip.meta["landmarks"] == "dlib"


def test_train_and_evaluate_from_the_command_line(prepared, tmp_path, capsys):
    out, _ = prepared
    for method in ("affinegan", "convlstm"):
        run, metrics = tmp_path / method, tmp_path / f"{method}.json"
        r = i2v("train", method, "--data", out, "--profile", "smoke", "--steps", 2, "--out", run, "--quiet", cwd=ROOT)
        assert r.returncode == 0, r.stderr
        r = i2v_here(capsys, "evaluate", run, "--data", out, "--out", metrics)
        assert r.returncode == 0, r.stderr
        m = json.loads(metrics.read_text())
        assert m["instrument"] == "dlib" and m["split"] == "test" and m["videos"] == 1   # the held-out video
        assert m["intensity_measure"] is None and m["scores"]["intensity_mae"] is None  # dlib reads no expression
        ref = m["reference"]
        assert ref["acd_g"] == 0 and ref["undetected_rate"] == 0 and 0 < ref["acd_i"] < 0.6
        if method == "affinegan":   # real videos: Fan et al.'s position labels t / (T - 1)
            assert m["intensity_labels"] == "position" and m["grid"] is None and m["frames"] == FRAMES
        else:                       # the baseline's own grid, on the video resampled to 1 + 10 frames
            assert m["intensity_labels"] == "grid" and m["grid"] == [round(0.1 * k, 1) for k in range(1, 11)]
            assert m["frames"] == 10 and m["per_video"][0]["intensities"] == m["grid"]


@pytest.mark.parametrize("chapter", ["notebooks/affinegan/training.ipynb", "notebooks/fan/training.ipynb"])
def test_training_chapter_runs_on_a_prepared_folder(prepared, chapter, tmp_path, monkeypatch):
    import nbformat
    import papermill as pm

    out, _ = prepared
    monkeypatch.setenv("I2V_REPO_ROOT", str(tmp_path))      # trained runs are cached here, not in the repository
    executed = tmp_path / "executed.ipynb"
    pm.execute_notebook(str(ROOT / chapter), str(executed), parameters={"PROFILE": "smoke", "DATA": str(out)},
                        kernel_name="python3", cwd=str(tmp_path), progress_bar=False,
                        extra_arguments=["--IPKernelApp.log_level=ERROR"])
    nb = nbformat.read(executed, as_version=4)
    shown = [o["data"]["text/markdown"] for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
             if o.get("output_type") == "display_data" and "text/markdown" in o.get("data", {})]
    notes = [text for text in shown if text.startswith("This run used")]
    assert len(notes) == 1, shown
    note = notes[0]
    assert f"`{out}` (1 test, 3 train videos; no true intensities, no exact landmarks)" in note
    assert "It skipped the measurements that need ground truth these videos do not have" in note
    assert "(needs true intensities" in note and "dlib" in note
