"""Checkpoints prove their integrity: a SHA-256 of what they hold is written with them and checked on every read."""

from __future__ import annotations

import shutil

import pytest
import torch

from i2vlib import I2VError, zoo
from i2vlib.checkpoint import digest, read_checkpoint, save_checkpoint
from i2vlib.cli import main
from i2vlib.models import affinegan
from i2vlib.train import train


def _flip(path, at: float = 0.6):
    data = bytearray(path.read_bytes())
    data[int(len(data) * at)] ^= 0xFF
    path.write_bytes(bytes(data))


def test_the_digest_sees_every_tensor_byte_dtype_and_shape():
    w = {"net": {"a": torch.zeros(4), "b": torch.ones(2, 2, dtype=torch.bfloat16)}}
    base = digest(w)
    assert digest({"net": {"b": w["net"]["b"], "a": w["net"]["a"]}}) == base        # key order does not matter
    assert digest({"net": {**w["net"], "a": torch.tensor([0.0, 0, 0, 1e-8])}}) != base
    assert digest({"net": {**w["net"], "a": torch.zeros(2, 2)}}) != base
    assert digest({"net": {**w["net"], "a": torch.zeros(4, dtype=torch.float64)}}) != base


def test_a_damaged_checkpoint_is_refused_by_load_generate_evaluate_and_resume(tmp_path, capsys):
    cfg = affinegan.default_config("smoke", steps=2)
    train(cfg, tmp_path / "run", device="cpu", progress=False)
    assert "weights" in read_checkpoint(tmp_path / "run")
    _flip(tmp_path / "run" / "checkpoint.pt")
    with pytest.raises(I2VError, match="damaged|not a readable"):
        read_checkpoint(tmp_path / "run")
    for argv in (["generate", str(tmp_path / "run"), "synthetic:0", "--out", str(tmp_path / "x.gif")],
                 ["evaluate", str(tmp_path / "run"), "--videos", "1", "--out", str(tmp_path / "x.json")],
                 ["train", "affinegan", "--profile", "smoke", "--steps", "3", "--resume", "--out", str(tmp_path / "run")]):
        assert main(argv) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and ("damaged" in err[0] or "not a readable" in err[0]), err
    assert not (tmp_path / "x.gif").exists() and not (tmp_path / "x.json").exists()


def test_every_shipped_zoo_file_carries_its_digest():
    for name in zoo.names():
        raw = torch.load(zoo.path(name), map_location="cpu", weights_only=True)
        assert "sha256" in raw, f"{name}: written without a digest"


def test_one_file_has_one_digest_wherever_it_lies(tmp_path):
    """The digest of a read checkpoint is the one written with it, in any folder: a record names the zoo file it
    measured by it, and CI reads the package from another folder than the machine that recorded it."""
    here = read_checkpoint(zoo.path("fan-happy"))
    moved = tmp_path / "elsewhere" / "fan-happy.pt"
    moved.parent.mkdir()
    shutil.copy(zoo.path("fan-happy"), moved)
    there = read_checkpoint(moved)
    assert here["path"] != there["path"]
    raw = torch.load(moved, map_location="cpu", weights_only=True)
    assert digest(here) == digest(there) == raw["sha256"]


def test_a_truncated_or_unreadable_file_is_one_line(tmp_path):
    path = save_checkpoint(tmp_path / "c.pt", "affinegan", {"method": "affinegan"}, 0, {"generator": {}})
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(I2VError, match="not a readable i2v checkpoint"):
        read_checkpoint(path)
