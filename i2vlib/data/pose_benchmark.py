"""The embedded pose benchmark: procedural articulated figures standing in for Penn Action.

FRGAN's second task (Zhao et al., §4.3) is human pose forecasting on the Penn Action dataset: 13 joints
per frame, eight actions, videos cropped by temporal tubes to 64 x 64, identities split in thirds (one third
trains the motion forecasting network G_M, one the refinement network G_R, one tests), and an LSTM that
observes 10 poses and predicts the next 32. Penn Action cannot ship, so this module draws people
procedurally, with exact ground truth: joints, their depth and visibility, and a part label per pixel.

An identity's :class:`Body` is a set of bone lengths, limb widths, colours, a clothes pattern and a handedness. An
action is a list of keyframed poses (:class:`~.pose_paint.Pose`), interpolated by a Catmull-Rom spline,
periodic (jumping jacks, jump rope) or played once (the rest; clean and jerk and the tennis serve in
several phases). Each video draws its tempo (+-30%), amplitude, phase, facing angle and a little noise
from ``(seed, split, i)``, and mirrors the action for left-handed people. The figure is placed by a
temporal tube: the bounding box of its joints over the whole video fits the frame, as in Penn's crops.
Everything is a pure function of ``(seed, split, i)``; :mod:`.pose_paint` draws the pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from ..errors import I2VError
from .face_paint import HAIR_COLOURS, SKIN_TONES
from .pose_paint import FIELDS, JOINTS, NEUTRAL, PARTS, Look, Pose, figure, paint, skeleton, visibility

__all__ = ["JOINTS", "ACTIONS", "PARTS", "SPLITS", "OBSERVED", "PREDICTED", "Body", "Pose", "PoseVideo",
           "PoseBenchmark"]

ACTIONS = ("baseball_pitch", "baseball_swing", "clean_and_jerk", "golf_swing",
           "jumping_jacks", "jump_rope", "tennis_forehand", "tennis_serve")
SPLITS = ("forecast", "refine", "test")   # identity index % 3: trains G_M, trains G_R, evaluates
OBSERVED, PREDICTED = 10, 32
N_IDENTITIES = 300

# action -> (kind, props, facing angle, frames per cycle or per action at tempo 1, keyframes).
# A keyframe is (time in [0, 1], fields that differ from the action's first keyframe); fields not in the
# first keyframe are neutral. Angles in degrees, for a right-handed identity (left-handed ones are mirrored).
MOTIONS = {
    "jumping_jacks": ("periodic", (), 0, 16, [
        (0.0, dict(l_sh_a=10, r_sh_a=10, l_hip_a=4, r_hip_a=4, l_knee=12, r_knee=12)),
        (0.25, dict(l_sh_a=95, r_sh_a=95, l_hip_a=16, r_hip_a=16, lift=0.06, l_knee=5, r_knee=5)),
        (0.5, dict(l_sh_a=172, r_sh_a=172, l_hip_a=22, r_hip_a=22, l_knee=15, r_knee=15)),
        (0.75, dict(l_sh_a=95, r_sh_a=95, l_hip_a=16, r_hip_a=16, lift=0.06, l_knee=5, r_knee=5))]),
    "jump_rope": ("periodic", ("rope",), 0, 13, [
        (0.0, dict(l_sh_a=30, r_sh_a=30, l_sh_f=15, r_sh_f=15, l_elbow=50, r_elbow=50, lift=0.07,
                   l_knee=12, r_knee=12, l_hip_f=6, r_hip_f=6)),
        (0.5, dict(l_sh_a=22, r_sh_a=22, l_sh_f=25, r_sh_f=25, lift=0.0, l_knee=35, r_knee=35,
                   l_hip_f=18, r_hip_f=18))]),
    "clean_and_jerk": ("phases", ("barbell",), 0, 46, [
        (0.0, dict(lean=45, l_hip_f=75, r_hip_f=75, l_knee=100, r_knee=100, l_hip_a=15, r_hip_a=15,
                   l_sh_a=12, r_sh_a=12, l_sh_f=45, r_sh_f=45, l_elbow=0, r_elbow=0)),
        (0.2, dict(lean=3, l_hip_f=5, r_hip_f=5, l_knee=8, r_knee=8, l_sh_f=5, r_sh_f=5, lift=0.03)),
        (0.34, dict(lean=15, l_hip_f=100, r_hip_f=100, l_knee=125, r_knee=125, l_hip_a=22, r_hip_a=22,
                    l_sh_a=22, r_sh_a=22, l_sh_f=100, r_sh_f=100, l_elbow=110, r_elbow=110)),
        (0.5, dict(lean=0, l_hip_f=5, r_hip_f=5, l_knee=5, r_knee=5, l_sh_a=22, r_sh_a=22,
                   l_sh_f=85, r_sh_f=85, l_elbow=115, r_elbow=115)),
        (0.6, dict(lean=0, l_hip_f=25, r_hip_f=25, l_knee=35, r_knee=35, l_sh_a=22, r_sh_a=22,
                   l_sh_f=85, r_sh_f=85, l_elbow=115, r_elbow=115)),
        (0.72, dict(lean=0, l_hip_f=40, l_knee=50, r_hip_f=-30, r_knee=25, l_sh_a=18, r_sh_a=18,
                    l_sh_f=175, r_sh_f=175, l_elbow=0, r_elbow=0)),
        (0.88, dict(lean=0, l_hip_f=3, r_hip_f=3, l_knee=5, r_knee=5, l_sh_a=18, r_sh_a=18,
                    l_sh_f=178, r_sh_f=178, l_elbow=0, r_elbow=0))]),
    "golf_swing": ("once", ("club",), 0, 38, [
        (0.0, dict(lean=35, l_hip_f=15, r_hip_f=15, l_knee=20, r_knee=20, l_hip_a=10, r_hip_a=10,
                   l_sh_a=-14, r_sh_a=-14, l_sh_f=45, r_sh_f=45, l_elbow=0, r_elbow=5, prop_a=0, prop_f=60)),
        (0.4, dict(twist=-85, l_sh_f=125, r_sh_f=125, l_elbow=5, r_elbow=75, prop_f=230, tilt=5)),
        (0.6, dict(twist=15, tilt=-5, prop_f=55)),
        (0.8, dict(twist=95, lean=12, l_sh_f=130, r_sh_f=130, l_elbow=80, r_elbow=15, prop_f=235,
                   r_knee=35, r_hip_f=8)),
        (1.0, dict(twist=105, lean=5, l_sh_f=135, r_sh_f=135, l_elbow=90, r_elbow=30, prop_f=240,
                   r_knee=40, r_hip_f=5))]),
    "baseball_swing": ("once", ("bat",), -75, 34, [
        (0.0, dict(lean=15, l_hip_a=18, r_hip_a=18, l_knee=25, r_knee=25, twist=-10, r_sh_a=25, r_sh_f=40,
                   r_elbow=110, l_sh_a=-35, l_sh_f=70, l_elbow=85, prop_a=20, prop_f=165)),
        (0.35, dict(twist=-35, l_hip_f=35, l_knee=45, prop_f=190)),
        (0.58, dict(twist=50, lean=10, l_hip_f=25, l_knee=5, r_knee=35, r_sh_a=-20, r_sh_f=85, r_elbow=15,
                    l_sh_a=-30, l_sh_f=85, l_elbow=5, prop_a=-75, prop_f=90)),
        (0.8, dict(twist=110, lean=5, r_knee=35, r_sh_a=-50, r_sh_f=110, r_elbow=50, l_sh_a=-40,
                   l_sh_f=110, l_elbow=70, prop_a=-60, prop_f=200)),
        (1.0, dict(twist=115, lean=5, r_knee=35, r_sh_a=-50, r_sh_f=120, r_elbow=70, l_sh_a=-40,
                   l_sh_f=120, l_elbow=90, prop_a=-60, prop_f=210))]),
    "baseball_pitch": ("once", ("ball",), -75, 36, [
        (0.0, dict(l_sh_a=-25, r_sh_a=-25, l_sh_f=50, r_sh_f=50, l_elbow=110, r_elbow=110, ball=0)),
        (0.25, dict(l_hip_f=95, l_knee=100, twist=-30, lean=-5, ball=0)),
        (0.5, dict(l_hip_f=45, l_knee=25, l_hip_a=12, r_knee=30, twist=-70, r_sh_a=95, r_sh_f=-40,
                   r_elbow=100, l_sh_a=20, l_sh_f=90, l_elbow=20, ball=0)),
        (0.66, dict(twist=50, lean=35, l_hip_f=45, l_knee=30, r_knee=20, r_sh_a=40, r_sh_f=140,
                    r_elbow=20, l_sh_a=-10, l_sh_f=40, l_elbow=60, ball=-1)),
        (0.85, dict(twist=70, lean=50, l_hip_f=50, l_knee=40, r_hip_f=-50, r_knee=70, r_sh_a=-40,
                    r_sh_f=70, r_elbow=30, l_sh_a=-20, l_sh_f=20, l_elbow=70, ball=-1)),
        (1.0, dict(twist=60, lean=30, l_hip_f=30, l_knee=30, r_hip_f=-15, r_knee=30, r_sh_a=-30,
                   r_sh_f=50, r_elbow=40, l_sh_a=-20, l_sh_f=20, l_elbow=70, ball=-1))]),
    "tennis_forehand": ("once", ("racket",), -30, 32, [
        (0.0, dict(l_knee=30, r_knee=30, l_hip_a=14, r_hip_a=14, lean=20, r_sh_a=15, r_sh_f=55,
                   r_elbow=60, l_sh_a=-15, l_sh_f=55, l_elbow=70, prop_a=-10, prop_f=100)),
        (0.35, dict(twist=-80, r_sh_a=60, r_sh_f=-10, r_elbow=40, l_sh_a=-40, l_sh_f=80, l_elbow=20,
                    prop_a=90, prop_f=20)),
        (0.6, dict(twist=10, r_sh_a=35, r_sh_f=60, r_elbow=25, l_sh_a=10, l_sh_f=30, prop_a=40, prop_f=80)),
        (0.82, dict(twist=80, r_sh_a=-50, r_sh_f=120, r_elbow=100, l_sh_a=10, l_sh_f=20, prop_a=-40,
                    prop_f=190)),
        (1.0, dict(twist=70, lean=10, r_sh_a=-50, r_sh_f=125, r_elbow=110, l_sh_a=10, l_sh_f=20,
                   prop_a=-40, prop_f=195))]),
    "tennis_serve": ("phases", ("racket", "ball"), -70, 40, [
        (0.0, dict(r_sh_a=10, r_sh_f=30, r_elbow=20, prop_f=60, l_sh_a=-10, l_sh_f=40, l_elbow=20, ball=0)),
        (0.25, dict(l_sh_a=0, l_sh_f=172, l_elbow=0, ball=0.1, r_sh_a=70, r_sh_f=-20, r_elbow=60, prop_a=60,
                    prop_f=-40, l_knee=35, r_knee=35, lean=-10)),
        (0.42, dict(l_sh_a=0, l_sh_f=170, l_elbow=0, ball=0.4, r_sh_a=90, r_sh_f=-30, r_elbow=120,
                    prop_a=0, prop_f=-160, l_knee=45, r_knee=45, lean=-15)),
        (0.58, dict(lift=0.06, r_sh_a=10, r_sh_f=175, r_elbow=5, prop_f=180, l_sh_a=-20, l_sh_f=50,
                    l_elbow=30, ball=-1, lean=10)),
        (0.78, dict(lean=40, twist=40, r_sh_a=-40, r_sh_f=50, r_elbow=20, prop_a=-50, prop_f=20,
                    r_hip_f=-40, r_knee=60, l_knee=25, ball=-1)),
        (1.0, dict(lean=20, twist=30, r_sh_a=-40, r_sh_f=40, r_elbow=30, prop_a=-50, prop_f=10,
                   r_knee=20, l_knee=15, ball=-1))]),
}
_ANGLES = np.array([f not in ("lift", "ball", "rope", "prop_a", "prop_f") for f in FIELDS])
_MIRRORED = np.array([f in ("turn", "twist", "tilt") for f in FIELDS])
_SWAP = np.array([FIELDS.index(("r_" + f[2:]) if f.startswith("l_") else ("l_" + f[2:]) if f.startswith("r_")
                              else f) for f in FIELDS])


def _keyframes(action: str) -> tuple[np.ndarray, np.ndarray]:
    """(times K, values K x len(FIELDS)) of an action; each keyframe completes the first one."""
    first = {**NEUTRAL, **MOTIONS[action][4][0][1]}
    times, rows = [], []
    for u, fields in MOTIONS[action][4]:
        times.append(u)
        rows.append([{**first, **fields}.get(f, 0.0) for f in FIELDS])
    return np.array(times), np.array(rows, float)


def catmull_rom(times, values, u, periodic: bool):
    """Values at times ``u`` of the Catmull-Rom (cardinal Hermite) spline through keyframes."""
    if periodic:
        t = np.concatenate([times[-1:] - 1, times, times[:2] + 1])
        v = np.concatenate([values[-1:], values, values[:2]])
        u = np.mod(u, 1.0)
    else:
        t = np.concatenate([times[:1] - 1, times, times[-1:] + 1, times[-1:] + 2])
        v = np.concatenate([values[:1], values, values[-1:], values[-1:]])
        u = np.clip(u, times[0], times[-1])
    k = np.clip(np.searchsorted(t, u, side="right") - 1, 1, len(t) - 3)
    t0, t1, t2, t3 = t[k - 1], t[k], t[k + 1], t[k + 2]
    h = (t2 - t1)[:, None]
    s = ((u - t1) / (t2 - t1))[:, None]
    m1 = (v[k + 1] - v[k - 1]) / (t2 - t0)[:, None] * h
    m2 = (v[k + 2] - v[k]) / (t3 - t1)[:, None] * h
    return ((2 * s**3 - 3 * s**2 + 1) * v[k] + (s**3 - 2 * s**2 + s) * m1
            + (-2 * s**3 + 3 * s**2) * v[k + 1] + (s**3 - s**2) * m2)


@dataclass(frozen=True)
class Body(Look):
    """The body of one identity of the pose benchmark: bone lengths and limb radii in body heights,
    colours, clothes, handedness."""

    index: int = 0
    handedness: str = "r"

    @property
    def split(self) -> str:
        return SPLITS[self.index % 3]


def make_body(seed: int, index: int) -> Body:
    rng = np.random.default_rng([seed, index, 0x9053])
    h = rng.uniform(0.94, 1.04)
    bones = {k: float(v * h * rng.uniform(0.93, 1.07)) for k, v in dict(
        torso=0.29, neck=0.035, head=0.066, shoulder=0.105, hip=0.065, upper_arm=0.16, forearm=0.14,
        thigh=0.235, shin=0.225).items()}
    build = rng.uniform(0.85, 1.2)
    radii = {k: float(v * build * rng.uniform(0.92, 1.08)) for k, v in dict(
        upper_arm=0.032, forearm=0.027, thigh=0.048, shin=0.037, depth=0.07).items()}
    pick = lambda table: table[rng.integers(len(table))] * rng.uniform(0.9, 1.08, 3)  # noqa: E731
    trousers = np.array([(45, 60, 110), (30, 30, 35), (170, 150, 110), (110, 110, 115), (225, 225, 220),
                         (70, 50, 35)], float)
    shirt = rng.uniform(25, 235, 3)
    colours = {"skin": pick(SKIN_TONES), "hair": pick(HAIR_COLOURS), "shirt": shirt,
               "shirt2": np.where(shirt.mean() > 128, shirt * 0.45, 255 - (255 - shirt) * 0.35),
               "trousers": pick(trousers), "shoes": pick(np.array([(35, 30, 30), (235, 235, 235), (120, 70, 40)]))}
    return Body(bones=bones, radii=radii, colours={k: np.clip(v, 0, 255).astype(np.float32)
                                                     for k, v in colours.items()},
                  pattern=("plain", "stripes", "band")[rng.integers(3)], sleeves=float(rng.choice([0.5, 2.0])),
                  shorts=bool(rng.random() < 0.3), index=index, handedness="l" if rng.random() < 0.15 else "r")


def background(size: int, rng: np.random.Generator) -> np.ndarray:
    """A static textured scene (float32 S x S x 3): a wall or sky over a floor or field, soft blotches,
    a few lines on the ground."""
    horizon = rng.uniform(0.35, 0.65)
    wall, floor = rng.uniform(70, 220, 3), rng.uniform(50, 200, 3)
    y = (np.arange(size, dtype=np.float32)[:, None, None] + 0.5) / size
    ramp = np.clip((y - horizon) * size / 2 + 0.5, 0, 1)
    img = wall * (1 - ramp) * (1.05 - 0.15 * y) + floor * ramp * (0.85 + 0.3 * y)
    noise = rng.normal(0, 1, (7, 7)).astype(np.float32)
    blotches = np.asarray(Image.fromarray(noise, "F").resize((size, size), Image.BICUBIC))
    img = img * (1 + rng.uniform(0.04, 0.1) * blotches[..., None])
    for _ in range(rng.integers(1, 4)):   # court or field lines
        yl = rng.uniform(horizon + 0.05, 1.0) * size
        slope = rng.uniform(-0.3, 0.3)
        x = np.arange(size)[None, :]
        line = np.clip(1 - np.abs(np.arange(size)[:, None] - yl - slope * (x - size / 2)) / max(1, size / 64), 0, 1)
        img += line[..., None] * ramp * (235 - img) * 0.6
    img += rng.normal(0, 2.5, img.shape)
    return np.clip(img, 0, 255).astype(np.float32)


@dataclass
class PoseVideo:
    """One benchmark video with its exact ground truth (see the module docstring)."""

    frames: np.ndarray      # (T, S, S, 3) uint8
    joints: np.ndarray      # (T, 13, 2) float32 pixel (x, y), x right, y down
    visibility: np.ndarray  # (T, 13) bool
    depth: np.ndarray       # (T, 13) float32, larger = nearer the camera
    parts: np.ndarray       # (T, S, S) uint8 labels into PARTS
    action: str
    identity: int
    split: str
    video_id: str
    meta: dict

    def __len__(self) -> int:
        return len(self.frames)


class PoseBenchmark:
    """Deterministic source of identities, motions and videos; video ``i`` of a split performs ACTIONS[i % 8]."""

    def __init__(self, size: int = 64, seed: int = 0, frames: int = 48):
        if size < 32:
            raise I2VError(f"image size must be at least 32 px, got {size}")
        if frames < OBSERVED + PREDICTED:
            raise I2VError(f"pose videos need at least {OBSERVED + PREDICTED} frames "
                           f"({OBSERVED} observed + {PREDICTED} predicted), got {frames}")
        self.size, self.seed, self.frames = int(size), int(seed), int(frames)

    def identities(self, split: str) -> np.ndarray:
        """Indices of the identities of one split (disjoint thirds: index % 3)."""
        return np.arange(SPLITS.index(_check_split(split)), N_IDENTITIES, 3)

    def identity(self, index: int) -> Body:
        if not 0 <= int(index) < N_IDENTITIES:
            raise I2VError(f"identity index {index} out of range 0..{N_IDENTITIES - 1}")
        return make_body(self.seed, int(index))

    def _rng(self, split: str, i: int, stream: int) -> np.random.Generator:
        if int(i) != i or i < 0:
            raise I2VError(f"video index must be an integer >= 0, got {i}")
        return np.random.default_rng([self.seed, SPLITS.index(_check_split(split)), int(i), stream])

    def identity_of(self, split: str, i: int) -> Body:
        """The identity who performs video ``i`` of ``split``."""
        ids = self.identities(split)
        return self.identity(ids[self._rng(split, i, 1).integers(len(ids))])

    def motion(self, split: str, i: int) -> list[Pose]:
        """The per-frame poses of video ``i`` (placement included): ``render(anyone, motion[t])``."""
        rng = self._rng(split, i, 2)
        action = ACTIONS[i % len(ACTIONS)]
        kind, props, turn, length, _ = MOTIONS[action]
        times, values = _keyframes(action)
        tempo, t = rng.uniform(0.7, 1.3), np.arange(self.frames, dtype=float)
        if kind == "periodic":
            u = rng.random() + t / (length * tempo)
        else:
            u = (t - rng.uniform(-0.1 * length, 4)) / (length * tempo)
        q = catmull_rom(times, values, u, kind == "periodic")
        neutral = np.array([NEUTRAL.get(f, 0.0) for f in FIELDS])
        q = np.where(_ANGLES, neutral + (q - neutral) * rng.uniform(0.85, 1.15), q)
        w, ph = rng.uniform(0.1, 0.4, (2, len(FIELDS))), rng.uniform(0, 2 * np.pi, (2, len(FIELDS)))
        q += _ANGLES * 1.5 * (np.sin(w[0] * t[:, None] + ph[0]) + np.sin(w[1] * t[:, None] + ph[1]))
        q[:, FIELDS.index("turn")] += turn + rng.uniform(-15, 15)
        if kind == "periodic" and "rope" in props:
            q[:, FIELDS.index("rope")] = -360 * np.mod(u, 1.0)
        body = self.identity_of(split, i)
        if body.handedness == "l":
            q = np.where(_MIRRORED, -q, q)[:, _SWAP]
        poses = [Pose(row.astype(np.float32), props=props, hand=body.handedness) for row in q]
        return self._place(body, poses, rng)

    def _place(self, body: Body, poses: list[Pose], rng) -> list[Pose]:
        """A temporal tube: scale and shift so the joints of the whole video fit the frame."""
        pts = np.array([[p for k, p in skeleton(body, pose).items() if k in JOINTS or k.endswith("hand")]
                        for pose in poses])[..., :2]
        head = body.bones["head"] * 1.2
        lo, hi = pts.min((0, 1)) - [0.04, head], pts.max((0, 1)) + [0.04, 0.03]
        scale = min(0.8 / 1.0, 0.9 / (hi[1] - lo[1]), 0.9 / (hi[0] - lo[0])) * rng.uniform(0.94, 1.0)
        slack = 1 - scale * (hi - lo)
        x0, y0 = slack * rng.uniform(0.3, 0.7, 2) - lo * scale
        return [Pose(p.q, x=float(x0), ground=float(y0), scale=float(scale), props=p.props, hand=p.hand)
                for p in poses]

    def background(self, split: str, i: int) -> np.ndarray:
        """The static scene of video ``i`` (float32 S x S x 3)."""
        return background(self.size, self._rng(split, i, 3))

    def render(self, body: Body | int, pose: Pose, background=None):
        """(image, joints, visibility, depth, parts) of ``body`` (a :class:`Body` or an identity index) in ``pose``."""
        if not isinstance(body, Body):
            body = self.identity(body)
        bg = _default_background(self.size) if background is None else np.asarray(background, np.float32)
        joints, depth, prims = figure(body, pose, self.size)
        image, parts = paint(prims, bg)
        return image, joints, visibility(prims, joints, self.size), depth, parts

    def sequence(self, split: str, i: int) -> tuple[np.ndarray, np.ndarray]:
        """(joints T x 13 x 2, visibility T x 13) of video ``i``, without drawing pixels."""
        body = self.identity_of(split, i)
        out = [figure(body, pose, self.size) for pose in self.motion(split, i)]
        return (np.stack([j for j, _, _ in out]),
                np.stack([visibility(prims, j, self.size) for j, _, prims in out]))

    def video(self, split: str, i: int) -> PoseVideo:
        """Video ``i`` of a split, rendered, with its ground truth."""
        body, motion = self.identity_of(split, i), self.motion(split, i)
        bg = self.background(split, i)
        frames, joints, vis, depth, parts = zip(*(self.render(body, pose, bg) for pose in motion))
        action = ACTIONS[i % len(ACTIONS)]
        return PoseVideo(np.stack(frames), np.stack(joints), np.stack(vis), np.stack(depth), np.stack(parts),
                         action=action, identity=body.index, split=split, video_id=f"p{body.index:03d}_v{i:04d}",
                         meta={"seed": self.seed, "size": self.size, "kind": MOTIONS[action][0],
                               "props": list(motion[0].props), "hand": body.handedness,
                               "scale": motion[0].scale, "source": "synthetic-pose"})


def _check_split(split: str) -> str:
    if split not in SPLITS:
        raise I2VError(f"unknown split {split!r}; choose one of {', '.join(SPLITS)}")
    return split


_BACKGROUNDS: dict = {}


def _default_background(size: int) -> np.ndarray:
    if size not in _BACKGROUNDS:
        _BACKGROUNDS[size] = background(size, np.random.default_rng(0))
    return _BACKGROUNDS[size]
