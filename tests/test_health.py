"""Health checks (i2vlib.claims.health): what a trained model must show before a claim may use it."""

import numpy as np
import pytest

from i2vlib.claims import NotTested
from i2vlib.claims import health
from i2vlib.data.synthetic import SyntheticBenchmark
from i2vlib.metrics import psnr
from i2vlib.claims import evidence, measurement


def arm_record(method="affinegan", **value):
    base = {"psnr": 25.0, "psnr_at_0": 28.0, "landmark_final": 8.0, "landmark_final_truth": 12.0, "acd_i": 0.5}
    return {"config": {"method": method}, "value": {**base, **value}, "losses": None}


def test_a_model_that_copies_its_input_fails_moves():
    h = health.record_health(arm_record(landmark_final=0.0), "arm")
    assert not h["healthy"] and h["failed"] == ["moves"]
    assert h["checks"]["moves"] == {"value": 0.0, "bound": 0.25, "passed": False}


def test_a_healthy_intensity_model_passes_every_check():
    h = health.record_health(arm_record(), "arm")
    assert h["healthy"] and set(h["checks"]) == {"face_psnr", "moves", "identity", "reconstructs"}


def test_a_check_not_measured_does_not_fail_the_run():
    h = health.record_health(arm_record(psnr_at_0=None), "arm")
    assert h["healthy"] and h["checks"]["reconstructs"]["passed"] is None


def test_forecasters_are_not_asked_for_a_zero_intensity_frame():
    assert "reconstructs" not in health.record_health(arm_record("vgan"), "arm")["checks"]


def test_ganimation_attention_is_measured_from_the_loss_log_but_gates_only_in_the_replay():
    rec = arm_record("ganimation")
    rec["losses"] = {"step": [50, 100], "A_mean": [0.6, 0.999]}
    h = health.record_health(rec, "arm")
    assert h["checks"]["attention"]["passed"] is False and h["checks"]["attention"]["value"] == 0.999
    assert "attention" not in h["failed"] and h["healthy"]
    with health.gating("attention"):                      # as judged before 2026-11-28
        assert health.record_health(rec, "arm")["failed"] == ["attention"]
    assert health.record_health(rec, "arm")["healthy"]    # the context restores today's gates
    assert "not a gate" in health.ATTENTION.describe() and "not a gate" not in health.MOVES.describe()


def test_a_face_further_from_the_input_than_another_person_fails_identity():
    h = health.record_health(arm_record("vgan", acd_i=1.45), "arm")
    assert h["failed"] == ["identity"] and h["checks"]["identity"]["bound"] == health.ANOTHER_PERSON_ACD_I
    assert health.record_health(arm_record("vgan", acd_i=1.2), "arm")["healthy"]
    assert health.record_health(arm_record("vgan", acd_i=health.ANOTHER_PERSON_ACD_I), "arm")["failed"] == ["identity"]
    with health.gating(ungated=["identity"]):             # as judged before 2026-11-28
        assert health.record_health(arm_record("vgan", acd_i=1.45), "arm")["healthy"]
    assert not health.record_health(arm_record("vgan", acd_i=1.45), "arm")["healthy"]
    assert "identity" not in health.record_health(arm_record("frgan"), "retarget")["checks"]


def test_mocogan_must_learn_its_first_frame():
    rec = {"config": {"method": "mocogan"}, "value": {"fitted": {"psnr": 20.0}},
           "losses": {"step": [50, 100, 150], "r": [0.35, 0.36, 0.39]}}
    h = health.record_health(rec, "retarget")
    assert h["failed"] == ["input_learned"]
    rec["losses"]["r"] = [0.35, 0.2, 0.12]
    assert health.record_health(rec, "retarget")["healthy"]


def test_an_arm_is_healthy_when_four_fifths_of_its_seeds_are():
    good, bad = {"healthy": True, "failed": []}, {"healthy": False, "failed": ["moves"]}
    assert health.arm_health([good] * 4 + [bad])["healthy"]
    h = health.arm_health([good] * 3 + [bad] * 2)
    assert not h["healthy"] and h["failing"] == {"moves": 2}
    assert health.why_unhealthy("ganimation", h) == "ganimation fails moves (2 of 5 seeds)"


def test_a_claim_on_an_arm_that_fails_its_gates_is_not_tested():
    """The gates of the arm's role in its table decide (protocol v2); protocol v1's health checks only in a replay."""
    passed = {"passed": True, "failed": [], "checks": {}}
    failed = {"passed": False, "failed": ["direction"], "checks": {}}
    good = {"acd_g": 0.5, "gates": {"comparator": passed, "ablation": passed}, "health": {"healthy": False,
                                                                                           "failed": ["moves"]}}
    bad = {"acd_g": 0.0, "gates": {"comparator": failed, "ablation": passed}, "health": {"healthy": True,
                                                                                          "failed": []}}
    runs = {"affinegan": [good] * 5, "ganimation": [bad] * 5}
    m = measurement.compare("affinegan-baselines", {"affinegan": "affinegan", "ganimation": "ganimation"}, "acd_g")
    got = measurement.measure(m, runs, {})
    assert got["affinegan"] == [0.5] * 5
    assert isinstance(got["ganimation"], NotTested) and "fails direction (5 of 5 seeds)" in got["ganimation"].reason
    assert measurement.arms_health(m, runs) == {"affinegan": {"seeds": 5, "healthy": 5},
                                                "ganimation": {"seeds": 5, "healthy": 0}}
    v1 = measurement.measure(m, runs, {"gating": "v1"})
    assert isinstance(v1["affinegan"], NotTested) and v1["ganimation"] == [0.0] * 5
    assert measurement.measure(m, runs, {"gating": "none"}) == {"affinegan": [0.5] * 5, "ganimation": [0.0] * 5}
    ablation = measurement.compare("fan", {"full": "full", "no_rt": "no_rt"}, "acd_g")   # no_rt: an ablation
    runs = {"full": [good] * 5, "no_rt": [bad] * 5}
    assert measurement.measure(ablation, runs, {}) == {"full": [0.5] * 5, "no_rt": [0.0] * 5}


def test_the_villegas_stand_in_is_not_asked_to_beat_holding_the_frame():
    frgan = {"config": {"method": "frgan-pose", "residual": "mask"}, "value": {}, "losses": None}
    villegas = {"config": {"method": "frgan-pose", "residual": "none"}, "value": {}, "losses": None}
    assert "beats_hold" in health.record_health(frgan, "pose")["checks"]
    assert "beats_hold" not in health.record_health(villegas, "pose")["checks"]


def test_identity_distance_is_judged_against_the_truths():
    assert evidence.from_truth([0.2, 0.4, 0.0], 0.2) == pytest.approx([0.0, np.log(2), np.log(2)])
    with pytest.raises(Exception, match="positive"):
        evidence.from_truth([0.3], 0.0)


def test_zoo_scores_health_reads_texture_and_strength():
    assert health.zoo_health("affinegan", {"texture": 1.9, "strength_ratio": 0.98})["failed"] == ["texture"]
    assert health.zoo_health("fan", {"texture": 1.2, "strength": 0.9})["healthy"]
    assert health.zoo_health("frgan-pose", {"mse_gt": 1.1, "mse_hold": 1.0})["failed"] == ["beats_hold"]


def test_the_pose_hold_reference_is_the_protocols_videos():
    from i2vlib.evaluate.pose_protocol import copy_last, test_videos
    videos = [v for v in test_videos(1) if v.action in ("jumping_jacks", "tennis_forehand")]
    actions = tuple(v.action for v in videos)
    assert health.hold_mse(actions) == pytest.approx(float(copy_last(videos)["mse_t"].mean()))


@pytest.mark.slow
def test_the_blank_frame_bound_is_what_a_blank_frame_scores():
    """BLANK_FRAME_PSNR: a frame of each test video's mean colour, on the ablation protocol's 12 happy videos."""
    bench = SyntheticBenchmark(64)
    scores = []
    for clip in bench.videos("test", 12, expressions=["happy"]):
        f = clip.frames
        blank = np.broadcast_to(f.reshape(len(f), -1, 3).mean(1).astype(np.uint8)[:, None, None, :], f.shape)
        scores.append(psnr(blank, f))
    assert np.mean(scores) == pytest.approx(health.BLANK_FRAME_PSNR, abs=0.2)


@pytest.mark.slow
def test_the_identity_bound_is_what_another_person_scores():
    """ANOTHER_PERSON_ACD_I: the true video of another test person, scored by the protocol on its 12 happy videos."""
    from i2vlib.evaluate.baselines import baselines
    from i2vlib.evaluate.protocol import evaluate
    other = baselines(videos=12, expressions=["happy"])["another person"]
    r = evaluate(other, videos=12, seed=0, expressions=["happy"], per_video=False, progress=False)
    assert r["scores"]["acd_i"] == pytest.approx(health.ANOTHER_PERSON_ACD_I, abs=0.01)
    assert r["reference"]["acd_i"] < health.ANOTHER_PERSON_ACD_I / 5     # the truth's own video stays far inside


def test_the_table_lists_every_check_once():
    names = [row["check"] for row in health.table()]
    assert len(names) == len(set(names)) and {"moves", "attention", "near_hold", "texture"} <= set(names)
