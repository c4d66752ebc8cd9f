"""The pose benchmark (FRGAN's Penn Action stand-in): determinism, splits, ground truth, occlusion, CLI."""

import json

import numpy as np
import pytest

from i2vlib.data.pose_benchmark import ACTIONS, JOINTS, OBSERVED, PARTS, PREDICTED, SPLITS, Body, Pose, PoseBenchmark
from i2vlib.errors import I2VError
from i2vlib.render import pose_contact_sheet

from test_cli import assert_one_line_error, i2v

J = {name: k for k, name in enumerate(JOINTS)}
L = {name: k for k, name in enumerate(PARTS)}


@pytest.fixture(scope="module")
def bench():
    return PoseBenchmark(64, seed=0)


@pytest.fixture(scope="module")
def videos(bench):
    return [bench.video("test", i) for i in range(8)]


def test_constants_match_the_paper():
    assert len(JOINTS) == 13 and len(ACTIONS) == 8 and PARTS[0] == "background" and PARTS[-1] == "prop"
    assert (OBSERVED, PREDICTED) == (10, 32) and SPLITS == ("forecast", "refine", "test")


@pytest.mark.slow
def test_videos_are_pure_functions_of_seed_split_and_index(bench, videos):
    again = PoseBenchmark(64, seed=0).video("test", 3)
    for name in ("frames", "joints", "visibility", "depth", "parts"):
        np.testing.assert_array_equal(getattr(videos[3], name), getattr(again, name))
    other = PoseBenchmark(64, seed=1).video("test", 3)
    assert not np.array_equal(other.frames, videos[3].frames)
    assert not np.array_equal(bench.video("refine", 3).joints, videos[3].joints)


@pytest.mark.slow
def test_splits_are_person_disjoint_thirds(bench):
    people = {s: set(bench.identities(s).tolist()) for s in SPLITS}
    assert not (people["forecast"] & people["refine"]) and not (people["refine"] & people["test"])
    assert not (people["forecast"] & people["test"])
    assert all(len(p) == 100 for p in people.values())
    for s in SPLITS:
        assert {p % 3 for p in people[s]} == {SPLITS.index(s)}
        assert {bench.video(s, i).identity for i in range(3)} <= people[s]


def test_shapes_dtypes_and_actions(videos):
    for i, v in enumerate(videos):
        assert v.action == ACTIONS[i] and v.split == "test"
        assert v.frames.shape == (48, 64, 64, 3) and v.frames.dtype == np.uint8
        assert v.joints.shape == (48, 13, 2) and v.joints.dtype == np.float32
        assert v.visibility.shape == (48, 13) and v.visibility.dtype == bool
        assert v.depth.shape == (48, 13) and v.depth.dtype == np.float32
        assert v.parts.shape == (48, 64, 64) and v.parts.dtype == np.uint8 and v.parts.max() < len(PARTS)
        assert len(np.unique(v.parts)) >= 8                  # head, torso, limbs and background all show
        assert np.ptp(v.joints, axis=0).max() > 3             # the figure moves
    props = {v.action: (v.parts == L["prop"]).any() for v in videos}
    assert all(props[a] for a in ("baseball_swing", "clean_and_jerk", "golf_swing", "jump_rope",
                                  "tennis_forehand", "tennis_serve")), props
    assert len(PoseBenchmark(32, frames=42).video("forecast", 5)) == 42


def test_visible_joints_lie_on_their_own_parts(videos):
    own = {"head": {"head"}, "l_wrist": {"l_forearm", "prop"}, "r_wrist": {"r_forearm", "prop"},
           "l_ankle": {"l_shin"}, "r_ankle": {"r_shin"}, "l_knee": {"l_thigh", "l_shin"}}
    checked = 0
    for v in videos:
        px = np.round(v.joints).astype(int)
        for name, parts in own.items():
            for t in np.flatnonzero(v.visibility[:, J[name]]):
                x, y = px[t, J[name]]
                assert PARTS[v.parts[t, y, x]] in parts, (v.action, t, name, PARTS[v.parts[t, y, x]])
                checked += 1
    assert checked > 0.9 * len(videos) * 48 * len(own)


@pytest.mark.slow
def test_figures_stay_inside_the_frame(bench):
    joints = np.concatenate([bench.sequence(s, i)[0] for s in SPLITS for i in range(16)])
    inside = ((joints >= -0.5) & (joints <= 63.5)).all(-1)
    assert inside.mean() > 0.995
    height = joints[..., 1].max(1) - joints[..., 1].min(1)
    assert 0.45 * 64 < np.median(height) < 0.85 * 64


def test_sequence_equals_the_video(bench, videos):
    joints, vis = bench.sequence("test", 5)
    np.testing.assert_array_equal(joints, videos[5].joints)
    np.testing.assert_array_equal(vis, videos[5].visibility)


def _arm_across_the_chest(front: bool) -> Pose:
    f = 20 if front else -20
    return Pose.make(r_sh_a=-80, r_sh_f=f, r_elbow=30, x=0.5, ground=0.92, scale=0.8)


def test_occlusion_follows_depth(bench):
    person = bench.identity(2)
    for front in (True, False):
        image, joints, vis, depth, parts = bench.render(person, _arm_across_the_chest(front))
        mid = np.round((joints[J["r_shoulder"]] + joints[J["r_elbow"]]) / 2).astype(int)
        label = PARTS[parts[mid[1], mid[0]]]
        assert label == ("r_upper_arm" if front else "torso"), (front, label)
        assert (depth[J["r_elbow"]] > depth[J["l_shoulder"]]) == front
        if front:
            assert vis[J["r_elbow"]]
    # Turned side-on, the far arm's elbow hides behind the torso and the near arm.
    for turn, far, near in ((90, "l_elbow", "r_elbow"), (-90, "r_elbow", "l_elbow")):
        _, joints, vis, depth, parts = bench.render(person, Pose.make(turn=turn))
        assert not vis[J[far]] and vis[J[near]] and depth[J[near]] > depth[J[far]]
        x, y = np.round(joints[J[far]]).astype(int)
        assert PARTS[parts[y, x]] in ("torso", near.replace("elbow", "upper_arm"), near.replace("elbow", "forearm"))


def test_anyone_can_perform_anyones_motion(bench):
    motion = bench.motion("test", 1)
    a, b = bench.identity(2), bench.identity(5)
    assert isinstance(a, Body) and a.bones != b.bones
    for t in (0, 20, 40):
        ja, jb = bench.render(a, motion[t])[1], bench.render(b, motion[t])[1]
        for bone, (p, q) in {"upper_arm": ("l_shoulder", "l_elbow"), "shin": ("r_knee", "r_ankle")}.items():
            la, lb = (np.linalg.norm(j[J[p]] - j[J[q]]) for j in (ja, jb))
            assert la / lb == pytest.approx(a.bones[bone] / b.bones[bone], rel=1e-3)
    # Arm straight out in the image plane: the forearm's pixel length is the person's bone length.
    pose = Pose.make(l_sh_a=90, l_elbow=0, scale=0.75)
    j = bench.render(a, pose)[1]
    assert np.linalg.norm(j[J["l_elbow"]] - j[J["l_wrist"]]) == pytest.approx(a.bones["forearm"] * 0.75 * 64, rel=1e-4)


def test_contact_sheet(bench):
    sheet = pose_contact_sheet(bench, identities=bench.identities("test")[:4], frames_per_action=4)
    assert sheet.dtype == np.uint8 and sheet.shape[0] > 8 * 64 and sheet.shape[1] > 4 * 64


@pytest.mark.parametrize("make", [
    lambda: PoseBenchmark(16), lambda: PoseBenchmark(64, frames=41), lambda: PoseBenchmark().video("train", 0),
    lambda: PoseBenchmark().video("test", -1), lambda: PoseBenchmark().sequence("val", 0),
    lambda: PoseBenchmark().identity(10_000)])
def test_bad_input_is_an_i2v_error(make):
    with pytest.raises(I2VError):
        make()


@pytest.mark.slow
def test_synth_pose_writes_the_layout(tmp_path):
    out = tmp_path / "pose"
    r = i2v("synth", out, "--kind", "pose", "--videos", 1, "--splits", "test", "--frames", 42, "--size", 32)
    assert r.returncode == 0, r.stderr
    meta = json.loads((out / "pose.json").read_text())
    assert meta["kind"] == "pose" and meta["joints"] == list(JOINTS) and meta["actions"] == list(ACTIONS)
    assert meta["parts"] == list(PARTS) and meta["splits"] == list(SPLITS) and meta["frames"] == 42
    assert sorted(v["action"] for v in meta["videos"]) == sorted(ACTIONS)
    bench = PoseBenchmark(32, frames=42)
    for entry in meta["videos"][:2]:
        folder = out / entry["path"]
        assert folder.parent.parent.name == "test" and folder.parent.name == entry["action"]
        assert len(list(folder.glob("*.png"))) == 42 and (folder / "0000.png").exists()
        truth = bench.video("test", entry["index"])
        with np.load(folder / "pose.npz") as npz:
            np.testing.assert_array_equal(npz["joints"], truth.joints)
            np.testing.assert_array_equal(npz["parts"], truth.parts)
            assert set(npz.files) == {"joints", "visibility", "depth", "parts"}


@pytest.mark.parametrize("args, words", [
    (["--expressions", "happy"], ["--expressions", "faces"]),
    (["--curves", "linear"], ["--curves", "faces"]),
    (["--splits", "train"], ["unknown split", "train"]),
    (["--frames", "30"], ["at least 42"]),
    (["--frames", "8", "32"], ["one number"]),
    (["--size", "16"], ["at least 32"]),
])
@pytest.mark.slow
def test_synth_pose_bad_input_writes_nothing(tmp_path, args, words):
    out = tmp_path / "out"
    assert_one_line_error(i2v("synth", out, "--kind", "pose", "--videos", 1, *args), *words)
    assert not out.exists() and not list(tmp_path.iterdir())
