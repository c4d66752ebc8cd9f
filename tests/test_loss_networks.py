"""No arm trains on an instrument (issue 71): the networks that measure a claim or a gate, and those of the protocol
every arm is scored under, are never a network that a method's loss reads. Networks are compared by their weights
(every trained tensor's content), not by their names.

The protected networks, traced from what :mod:`i2vlib.evaluate` and :mod:`i2vlib.claims.health` use:

* the synthetic instrument's three networks (:mod:`i2vlib.instruments.benchmark`): ``landmarks`` (landmark error and
  rho, the ``moves`` gate, face detection), ``identity`` (ACD-I, ACD-G, the ``identity`` gate), ``expression``
  (intensity error and rho, expression accuracy, ``strength``);
* dlib's 68-point predictor and face-recognition ResNet, the instrument for real faces (``i2v evaluate`` on a folder);
* the pose LSTM, G_C of :mod:`i2vlib.evaluate.pose_protocol`: the joints every pose forecaster is scored from (Table
  3's "lstm" column), the same for every arm;
* the fitter (:mod:`i2vlib.instruments.fitter`), FRGAN's fitted G_C in the retargeting protocol of the zoo and
  ``i2v evaluate``. It judges nothing, but it conditions what is scored, so no loss may read it either.

Loss networks: what each method declares (:meth:`i2vlib.models.gan.GANTrainer.loss_networks`): FGST's perceptual
features (:mod:`i2vlib.models.perceptual`; the identity instrument's trunk under ``perceptual_net="instrument"``, the
records' first version) and FRGAN-pose's Eq. 15 network (:mod:`i2vlib.instruments.pose_net`). The pose network is
no instrument: nothing in :mod:`i2vlib.evaluate`, :mod:`i2vlib.claims`, :mod:`i2vlib.studies` or
:mod:`i2vlib.records` reads it (its own accuracy report aside), so it is a loss network only, whatever its module's
place. Every arm of every table in the round of record (:data:`i2vlib.protocol.tables.RECORD_ROUND`) and every zoo
entry is checked; of the earlier rounds, only the exploratory round's FGST, recorded before the rule, read an
instrument. A method cannot skip the declaration: one training step of every method in the smoke profile is watched,
and a frozen network it holds but does not declare, a protected weight file it opens, or a protected tensor anywhere
in it fails the test.
"""

import hashlib
import json
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

import i2vlib
import i2vlib.instruments as instruments_package
from i2vlib import zoo
from i2vlib.evaluate import pose_protocol
from i2vlib.faces import landmarks as dlib_files
from i2vlib.instruments import benchmark, fitter, get_instrument, pose_net
from i2vlib.instruments.build import train_identities
from i2vlib.models import METHODS, fgst, get_method, perceptual
from i2vlib.protocol import tables

PACKAGE = Path(i2vlib.__file__).resolve().parent
PROTECTED_FILES = {benchmark.WEIGHTS, fitter.WEIGHTS, pose_protocol.G_C_WEIGHTS}
DLIB_FILES = ("shape_predictor_68_face_landmarks.dat", "dlib_face_recognition_resnet_model_v1.dat")
LOSS_ONLY_FILES = {pose_net.WEIGHTS, perceptual.WEIGHTS}
# Every method in the smoke profile, with each option that changes what its losses load.
SMOKE_VARIANTS = {
    "affinegan": [{}], "fan": [{}], "convlstm": [{}], "frgan": [{}, {"stage": "refine"}],
    "frgan-pose": [{}, {"stage": "refine"}], "vgan": [{}, {"benchmark": "poses", "action": "jumping_jacks"}],
    "mocogan": [{}], "mcnet": [{}], "ganimation": [{}], "fgst": [{}, {"design": "book"}], "hp": [{}],
    "mathieu": [{}],
}


# --------------------------------------------------------------------------------------- weights by content
def fingerprint(module: nn.Module) -> set[str]:
    """The digests of a network's trained tensors (parameters and statistics): float32 values and shape; tensors
    that hold one value throughout (a fresh batch norm's ones and zeros) say nothing of training and are left out."""
    out = set()
    for t in module.state_dict().values():
        if not t.is_floating_point() or t.numel() < 2:
            continue
        v = t.detach().float().cpu().contiguous()
        if torch.all(v == v.flatten()[0]):
            continue
        out.add(hashlib.sha1(repr(tuple(v.shape)).encode() + v.numpy().tobytes()).hexdigest())
    return out


def protected_networks() -> dict[str, nn.Module]:
    """Every protected network that is a torch module, by name (dlib's are files: :data:`DLIB_FILES`)."""
    inst = get_instrument("synthetic")
    return {**{f"synthetic {k}": m for k, m in inst.nets.items()}, "fitter": fitter.get_fitter().net,
            "pose LSTM": pose_protocol.g_c()[0]}


@pytest.fixture(scope="module")
def protected() -> dict[str, set[str]]:
    return {name: fingerprint(m) for name, m in protected_networks().items()}


def overlaps(networks: dict[str, nn.Module], protected: dict[str, set[str]]) -> list[str]:
    """``NAME shares weights with PROTECTED`` for each of ``networks`` that shares a trained tensor with a protected
    network."""
    return [f"{name} shares weights with the {other}" for name, net in networks.items()
            for other, prints in protected.items() if fingerprint(net) & prints]


# ---------------------------------------------------------------------------------------- every arm's losses
def arm_configs(round: str) -> dict[str, dict]:
    """Every arm of every table with the recipes of ``round`` (:data:`i2vlib.protocol.tables.ROUNDS`; book profile,
    first rung, one seed) and every zoo entry, by name."""
    out = {}
    for paper in tables.ARMS:
        for arm, runs in tables.arm_configs(paper, "book", seeds=tables.SEEDS[:1], round=round).items():
            out[f"{paper}: {arm}"] = runs[0]
    out.update({f"zoo: {name}": zoo.entry_config(name) for name in zoo.ENTRIES})
    return out


def loss_networks_of(round: str, protected: dict[str, set[str]]) -> tuple[dict[str, set[str]], list[str]]:
    """``({arm: the names of its loss networks}, [each overlap with a protected network])`` of ``round``'s arms."""
    declared, bad = {}, []
    for name, cfg in arm_configs(round).items():
        torch.manual_seed(0)
        nets = get_method(cfg["method"]).Trainer(cfg).loss_networks()
        declared[name] = set(nets)
        bad += [f"{name}: {v}" for v in overlaps(nets, protected)]
    return declared, bad


def test_no_arm_s_loss_reads_a_protected_network(protected, one_thread):
    """The round of record's arms, and the zoo's models."""
    declared, bad = loss_networks_of(tables.RECORD_ROUND, protected)
    assert not bad, bad
    # What the arms declare today: FGST's own features and FRGAN-pose's Eq. 15 network (not in its refine stage).
    assert declared["affinegan-baselines: fgst"] == {"perceptual"} and not declared["affinegan-baselines: fgst_book"]
    assert declared["frgan-pose: forecast"] == {"feat"} and not declared["frgan-pose: no_feat"]
    assert set().union(*declared.values()) == {"perceptual", "feat"}


def test_of_the_earlier_rounds_only_the_exploratory_fgst_read_an_instrument(protected, one_thread):
    """The exploratory round's records were made before the rule: its FGST trained on the identity instrument's trunk
    (a stated departure of that round), and nothing else of it on a protected network."""
    for round in tables.ROUNDS:
        if round != tables.RECORD_ROUND:
            bad = loss_networks_of(round, protected)[1]
            wanted = (["affinegan-baselines: fgst: perceptual shares weights with the synthetic identity"]
                      if round == "exploratory" else [])
            assert bad == wanted, (round, bad)


def test_fgst_s_first_features_were_the_identity_instrument_s(protected):
    """The check can fail: the records' FGST read the identity instrument's trunk."""
    old = fgst.Trainer(fgst.default_config("smoke", perceptual_net="instrument"))
    assert overlaps(old.loss_networks(), protected) == ["perceptual shares weights with the synthetic identity"]
    own = fgst.Trainer(fgst.default_config("smoke"))
    assert set(own.loss_networks()) == {"perceptual"} and not overlaps(own.loss_networks(), protected)


# ------------------------------------------------------------------------------- nothing undeclared
def _reachable(obj, seen: set, depth: int = 0):
    """The torch modules reachable from ``obj`` through containers and i2vlib objects (not into the modules)."""
    if id(obj) in seen or depth > 6:
        return
    seen.add(id(obj))
    if isinstance(obj, nn.Module):
        yield obj
    elif isinstance(obj, dict):
        for v in obj.values():
            yield from _reachable(v, seen, depth + 1)
    elif isinstance(obj, (list, tuple, set)):
        for v in obj:
            yield from _reachable(v, seen, depth + 1)
    elif type(obj).__module__.startswith("i2vlib") and hasattr(obj, "__dict__"):
        for v in vars(obj).values():
            yield from _reachable(v, seen, depth + 1)


def watched_step(make_trainer, monkeypatch) -> tuple[object, list[str]]:
    """Build a trainer with ``make_trainer()`` and train it one step, every loaded network forgotten first; returns
    the trainer and the weight files it opened (``torch.load`` and dlib's model files)."""
    monkeypatch.setattr(instruments_package, "_SHARED", {})
    monkeypatch.setattr(fitter, "_SHARED", {})
    monkeypatch.setattr(dlib_files, "_DLIB", {})
    pose_protocol.g_c.cache_clear()
    opened, load, model_path = [], torch.load, dlib_files.dlib_model_path

    def spy_load(f, *args, **kwargs):
        if isinstance(f, (str, Path)):
            opened.append(str(Path(f).resolve()))
        return load(f, *args, **kwargs)

    def spy_path(name):
        opened.append(name)
        return model_path(name)

    monkeypatch.setattr(torch, "load", spy_load)
    monkeypatch.setattr(dlib_files, "dlib_model_path", spy_path)
    try:
        torch.manual_seed(0)
        tr = make_trainer()
        if tr.stages:                     # a later stage: its frozen nets keep their random weights
            tr.begin({k: tr.nets[k].state_dict() for k in tr.stages})
        tr.step(tr.sample(np.random.default_rng(0)))
    finally:
        pose_protocol.g_c.cache_clear()
    return tr, opened


def undeclared(tr, opened: list[str], protected: dict[str, set[str]]) -> list[str]:
    """What a watched trainer did that its declaration does not show, or that touches a protected network."""
    declared = tr.loss_networks()
    inside = {id(m) for net in [*tr.nets.values(), *declared.values()] for m in net.modules()}
    extra = [m for m in _reachable(vars(tr), set()) if id(m) not in inside]
    out = [f"holds an undeclared {type(m).__name__}" for m in extra if not isinstance(m, nn.ModuleDict)]
    files = {str(p.resolve()) for p in PROTECTED_FILES} | set(DLIB_FILES)
    out += [f"opened {Path(f).name}" for f in opened if f in files]
    everything = {"its networks": nn.ModuleList([*tr.nets.values(), *extra]),
                  **{f"its loss network {k}": m for k, m in declared.items()}}
    return out + overlaps(everything, protected)


def smoke_configs():
    return [(method, change) for method, changes in SMOKE_VARIANTS.items() for change in changes]


def test_every_method_is_watched():
    assert set(SMOKE_VARIANTS) == set(METHODS)


@pytest.mark.parametrize("method,change", smoke_configs(), ids=lambda v: v if isinstance(v, str) else
                         ",".join(f"{k}={w}" for k, w in v.items()) or "default")
def test_a_training_step_reads_no_protected_network_and_holds_nothing_undeclared(method, change, protected,
                                                                                  monkeypatch, one_thread):
    module = get_method(method)
    tr, opened = watched_step(lambda: module.Trainer(module.default_config("smoke", **change)), monkeypatch)
    assert not undeclared(tr, opened, protected)


class _Hiding(fgst.Trainer):
    """FGST's features held but not declared."""

    def loss_networks(self):
        return {}


class _Peeking(fgst.Trainer):
    """A batch that consults the identity instrument (and keeps nothing of it)."""

    def sample(self, rng):
        get_instrument("synthetic")
        return super().sample(rng)


class _Copying(fgst.Trainer):
    """A generator whose first convolution starts from the landmark instrument's."""

    def build(self):
        nets = super().build()
        inst = get_instrument("synthetic").nets["landmarks"].features[0]
        conv = nn.Conv2d(3, 16, 3, 2, 1, bias=False)
        conv.weight.data.copy_(inst.weight)
        nets["generator"].extra = conv
        return nets


@pytest.mark.parametrize("trainer,perceptual_net,why", [
    (fgst.Trainer, "instrument", "its loss network perceptual shares weights with the synthetic identity"),
    (_Hiding, "own", "holds an undeclared Perceptual"),
    (_Peeking, "own", "opened synthetic64.pt"),
    (_Copying, "own", "its networks shares weights with the synthetic landmarks")])
def test_the_watch_catches_what_a_method_hides(trainer, perceptual_net, why, protected, monkeypatch, one_thread):
    tr, opened = watched_step(lambda: trainer(fgst.default_config("smoke", perceptual_net=perceptual_net)),
                              monkeypatch)
    assert why in undeclared(tr, opened, protected)


# ------------------------------------------------------------------------------- the shipped networks' roles
def test_every_shipped_network_has_a_role():
    """A network shipped beside the library is protected or read by a loss only: a new one must say which."""
    shipped = {p.resolve() for p in PACKAGE.glob("*/weights/*.pt")}
    assert shipped == {p.resolve() for p in PROTECTED_FILES | LOSS_ONLY_FILES}, sorted(map(str, shipped))


def test_nothing_that_judges_reads_a_loss_network():
    """The pose network and FGST's features are no instruments: no evaluation, claim, study or record reads them."""
    found = [f"{p.relative_to(PACKAGE)}:{i}" for folder in ("evaluate", "claims", "studies", "records")
             for p in sorted((PACKAGE / folder).rglob("*.py"))
             for i, line in enumerate(p.read_text().splitlines(), 1)
             if re.search(r"\bpose_net\b|models\.perceptual\b|import perceptual\b", line)]
    assert not found, found


# ------------------------------------------------------------------------------------- FGST's own features
def test_fgst_s_features_saw_no_person_the_instrument_saw_and_no_test_person():
    report = json.loads(perceptual.WEIGHTS.with_suffix(".json").read_text())
    s = report["settings"]
    _, ours = train_identities(s["identities"], s["offset"], s["bench_seed"])
    _, theirs = train_identities(**perceptual.INSTRUMENT_IDENTITIES, bench_seed=s["bench_seed"])
    assert len(ours) == s["identities"] == report["identities"]["count"] and not np.intersect1d(ours, theirs).size
    assert all(i % 10 < 8 for i in ours)                     # train identities only (8: val, 9: test)
    assert (int(ours[0]), int(ours[-1])) == (report["identities"]["first"], report["identities"]["last"])
    assert s["seed"] != benchmark.SyntheticInstrument.load().config["seed"]


def test_fgst_s_features_ship_small_and_keep_their_accuracy_in_half_precision():
    report = json.loads(perceptual.WEIGHTS.with_suffix(".json").read_text())
    assert report["command"].startswith("OMP_NUM_THREADS=1 python -m i2vlib.models.perceptual")
    assert report["file_bytes"] == perceptual.WEIGHTS.stat().st_size < 300_000      # the trunk, half precision
    acc = report["accuracy"]
    assert acc["held_out"]["split"] == "test" and acc["held_out"]["triplets"] >= 1000
    assert acc["half"]["triplet_accuracy"] >= 0.95 and acc["half"]["triplet_accuracy_hard"] >= 0.95, acc
    for key in ("triplet_accuracy", "triplet_accuracy_hard"):
        assert abs(acc["half"][key] - acc["float"][key]) <= 0.005, acc
    trunk = perceptual.load()
    assert not any(p.requires_grad for p in trunk.parameters()) and not trunk.training
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    assert trunk(x).shape == (2, 64, 4, 4)
