"""Drawing articulated figures: 2.5-D forward kinematics and a painter's algorithm over capsules.

A figure is a tree of bones hanging from the pelvis. The lower body (hips, legs) turns with the
facing angle ``turn``; the upper body (torso, head, arms, the prop) is in addition twisted about the
spine, bent forward (``lean``) and sideways (``tilt``). Every limb direction is two angles in the frame
of its parent, ``a`` (away from the body, in the frontal plane, from hanging straight down) and ``f``
(forward, towards the way the person faces), so a unit bone points along

    d(a, f) = (s sin a cos f, cos a cos f, sin f)        (x right, y down, z towards the camera)

with ``s`` = +1 for the person's left side and -1 for the right. Elbows bend forward (the forearm has
``f + elbow``), knees backward (the shin has ``f - knee``). Points are projected orthographically; their
``z`` is kept as depth (larger = nearer the camera).

Each part is a *primitive* with exact, anti-aliased coverage: a (tapered) capsule, the set of points
within a radius of a segment, or a convex polygon (the torso). Coverage is ``clip(r - dist + 1/2, 0, 1)``,
a one-pixel ramp, computed with numpy over the pixels of the part's bounding box only. Parts are painted
far to near by their depth, recomputed every frame, so an arm swings in front of the torso and behind it
again (self-occlusion); the part label of a pixel is the front-most part that covers at least half of it.
A joint is *visible* when it lies in the image and no part other than its own covers its pixel in front.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

JOINTS = ("head", "l_shoulder", "r_shoulder", "l_elbow", "r_elbow", "l_wrist", "r_wrist",
          "l_hip", "r_hip", "l_knee", "r_knee", "l_ankle", "r_ankle")
PARTS = ("background", "head", "torso", "l_upper_arm", "r_upper_arm", "l_forearm", "r_forearm",
         "l_thigh", "r_thigh", "l_shin", "r_shin", "prop")
P = {name: k for k, name in enumerate(PARTS)}
# The pose: angles in degrees, ``lift`` (feet above the ground), ``ball`` (height of a ball above the
# hand that holds it; negative: no ball) in body heights; ``rope``: the phase of a skipping rope (degrees).
FIELDS = ("lift", "turn", "twist", "lean", "tilt",
          "l_sh_a", "l_sh_f", "l_elbow", "r_sh_a", "r_sh_f", "r_elbow",
          "l_hip_a", "l_hip_f", "l_knee", "r_hip_a", "r_hip_f", "r_knee",
          "prop_a", "prop_f", "rope", "ball")
F = {name: k for k, name in enumerate(FIELDS)}
NEUTRAL = dict(l_sh_a=8, r_sh_a=8, l_elbow=10, r_elbow=10, l_hip_a=4, r_hip_a=4, l_knee=4, r_knee=4, ball=-1)
PROPS = ("bat", "racket", "club", "barbell", "rope", "ball")

# A joint counts as visible when the front-most part at its pixel is one of its own (or none).
_OWN = {"head": ("head",), "shoulder": ("torso", "upper_arm"), "elbow": ("upper_arm", "forearm"),
        "wrist": ("forearm", "prop"), "hip": ("torso", "thigh"), "knee": ("thigh", "shin"), "ankle": ("shin",)}
OWN_PARTS = np.zeros((len(JOINTS), len(PARTS)), bool)
for _j, _name in enumerate(JOINTS):
    _side, _, _kind = _name.rpartition("_")
    OWN_PARTS[_j, 0] = True
    for _p in _OWN[_kind]:
        OWN_PARTS[_j, P[_p] if _p in P else P[f"{_side}_{_p}"]] = True


@dataclass(frozen=True)
class Pose:
    """One frame of a figure's state: joint angles plus where the figure stands in the frame.

    ``q``: values of :data:`FIELDS` (degrees; see above). ``x``: image x of the pelvis and ``ground``:
    image y of the feet, both as fractions of the frame size; ``scale``: pixels per body-height unit,
    as a fraction of the size (about 0.8: the figure is about 80% of the frame high). ``props``: the
    objects held (:data:`PROPS`); ``hand``: the hand that holds the bat, racket or club ("l" or "r").
    """

    q: np.ndarray
    x: float = 0.5
    ground: float = 0.92
    scale: float = 0.8
    props: tuple = ()
    hand: str = "r"

    @classmethod
    def make(cls, **kwargs) -> Pose:
        """A pose from named fields (others neutral), e.g. ``Pose.make(r_sh_f=90, turn=30, props=("bat",))``."""
        values = {**NEUTRAL, **{k: v for k, v in kwargs.items() if k in F}}
        q = np.zeros(len(FIELDS), np.float32)
        for k, v in values.items():
            q[F[k]] = v
        return cls(q, **{k: v for k, v in kwargs.items() if k not in F})

    def __getitem__(self, name: str) -> float:
        return float(self.q[F[name]])

    def with_(self, **kwargs) -> Pose:
        """A copy with some fields (of :data:`FIELDS`) or placement attributes changed."""
        q = self.q.copy()
        for k, v in kwargs.items():
            if k in F:
                q[F[k]] = v
        return replace(self, q=q, **{k: v for k, v in kwargs.items() if k not in F})


@dataclass(frozen=True)
class Look:
    """The part of a person the renderer needs: bone lengths, radii (body heights) and colours."""

    bones: dict = field(default_factory=dict)   # torso, neck, head, shoulder, hip, upper_arm, forearm, ...
    radii: dict = field(default_factory=dict)   # upper_arm, forearm, thigh, shin, depth (torso thickness)
    colours: dict = field(default_factory=dict)  # skin, hair, shirt, shirt2, trousers, shoes (RGB floats)
    pattern: str = "plain"                       # plain | stripes | band
    sleeves: float = 0.5                         # fraction of the upper arm the sleeve covers
    shorts: bool = False


def _rot_y(deg):
    c, s = np.cos(np.radians(deg)), np.sin(np.radians(deg))
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])


def _bend(lean, tilt):
    """Forward bend (the top moves towards +z) after a sideways bend (towards the person's left)."""
    c, s = np.cos(np.radians(lean)), np.sin(np.radians(lean))
    ct, st = np.cos(np.radians(tilt)), np.sin(np.radians(tilt))
    return np.array([[1, 0, 0], [0, c, s], [0, -s, c]]) @ np.array([[ct, -st, 0], [st, ct, 0], [0, 0, 1]])


def _dir(a, f, s):
    a, f = np.radians(a), np.radians(f)
    return np.array([s * np.sin(a) * np.cos(f), np.cos(a) * np.cos(f), np.sin(f)])


def skeleton(look: Look, pose: Pose) -> dict:
    """Forward kinematics in body units: 3-D points (x right, y down, z near) named by :data:`JOINTS`
    plus ``neck``, ``pelvis``, hands, toes and prop points, with the pelvis at x = 0 and the lower
    ankle ``lift`` above y = 0 (the ground)."""
    b, q = look.bones, pose.q
    g = {k: q[i] for k, i in F.items()}
    low = _rot_y(g["turn"])
    up = low @ _bend(g["lean"], g["tilt"]) @ _rot_y(g["twist"])
    pts = {"pelvis": np.zeros(3), "neck": up @ (0, -b["torso"], 0)}
    pts["head"] = up @ (0, -b["torso"] - b["neck"] - b["head"], 0.2 * b["head"])
    for side, s in (("l", 1.0), ("r", -1.0)):
        sh = up @ (s * b["shoulder"], -b["torso"] + 0.025, 0)
        el = sh + up @ _dir(g[f"{side}_sh_a"], g[f"{side}_sh_f"], s) * b["upper_arm"]
        fore = up @ _dir(g[f"{side}_sh_a"], g[f"{side}_sh_f"] + g[f"{side}_elbow"], s)
        hip = low @ (s * b["hip"], 0, 0)
        kn = hip + low @ _dir(g[f"{side}_hip_a"], g[f"{side}_hip_f"], s) * b["thigh"]
        an = kn + low @ _dir(g[f"{side}_hip_a"], g[f"{side}_hip_f"] - g[f"{side}_knee"], s) * b["shin"]
        pts.update({f"{side}_shoulder": sh, f"{side}_elbow": el, f"{side}_wrist": el + fore * b["forearm"],
                    f"{side}_hand": el + fore * (b["forearm"] + 0.04), f"{side}_hip": hip, f"{side}_knee": kn,
                    f"{side}_ankle": an, f"{side}_toe": an + low @ (0, 0.01, 0.07)})
    pts["prop_dir"] = up @ _dir(g["prop_a"], g["prop_f"], 1.0 if pose.hand == "l" else -1.0)
    pts["body_up"] = up @ (0, -1.0, 0)
    ground = max(pts["l_ankle"][1], pts["r_ankle"][1]) + g["lift"]
    shift = np.array([0.0, ground, 0.0])
    return {k: (v - shift if k not in ("prop_dir", "body_up") else v) for k, v in pts.items()}


def to_pixels(pose: Pose, size: int, pts: np.ndarray) -> np.ndarray:
    """Body-unit points (N x 3) to pixel (x, y) (N x 2); pixel centres are at integer coordinates."""
    s = pose.scale * size
    return np.stack([pose.x * size + pts[:, 0] * s, pose.ground * size + pts[:, 1] * s], 1) - 0.5


# ---- primitives -------------------------------------------------------------------------------------------------

def _capsule(x, y, a, b, r0, r1):
    """Coverage, position t in [0, 1] along the segment and relative distance d/r, for a tapered capsule."""
    abx, aby = b[0] - a[0], b[1] - a[1]
    t = np.clip(((x - a[0]) * abx + (y - a[1]) * aby) / (abx * abx + aby * aby + 1e-9), 0.0, 1.0)
    dx, dy = x - a[0] - t * abx, y - a[1] - t * aby
    d = np.sqrt(dx * dx + dy * dy)
    r = r0 + t * (r1 - r0)
    return np.clip(r - d + 0.5, 0.0, 1.0), t, d / r


def _polygon(x, y, v, axis):
    """Coverage of a convex polygon (vertices ``v`` in order) and the coordinate along ``axis``."""
    sd = None
    n = len(v)
    area = sum(v[i][0] * v[(i + 1) % n][1] - v[(i + 1) % n][0] * v[i][1] for i in range(n))
    sign = 1.0 if area > 0 else -1.0
    for i in range(n):
        (x0, y0), (x1, y1) = v[i], v[(i + 1) % n]
        nx, ny = sign * (y1 - y0), -sign * (x1 - x0)
        norm = np.hypot(nx, ny) + 1e-9
        e = ((x - x0) * nx + (y - y0) * ny) / norm
        sd = e if sd is None else np.maximum(sd, e)
    return np.clip(0.5 - sd, 0.0, 1.0), (x - v[0][0]) * axis[0] + (y - v[0][1]) * axis[1]


@dataclass
class Prim:
    """One drawable piece: capsule (a, b, r0, r1) or polygon (vertices, stripe axis), painted with
    ``colour`` where the position along it is below ``split`` and ``colour2`` beyond (or striped)."""

    depth: float
    part: int
    kind: str
    geom: tuple
    colour: np.ndarray
    colour2: np.ndarray | None = None
    split: float = 2.0
    stripes: float = 0.0   # stripe period in pixels (polygons)

    def box(self, size):
        if self.kind == "capsule":
            a, b, r0, r1 = self.geom
            pts, pad = np.array([a, b]), max(r0, r1) + 1
        else:
            pts, pad = np.asarray(self.geom[0]), 1
        lo = np.maximum(np.floor(pts.min(0) - pad).astype(int), 0)
        hi = np.minimum(np.ceil(pts.max(0) + pad).astype(int) + 1, size)
        return lo, hi

    def cover(self, x, y):
        """(coverage, position along, shade) at pixel centres x, y (broadcast)."""
        if self.kind == "capsule":
            c, t, rel = _capsule(x, y, *self.geom)
            return c, t, 1.0 - 0.35 * np.minimum(rel, 1.0) ** 2
        c, v = _polygon(x, y, *self.geom)
        return c, v, 1.0


def paint(prims: list, background: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Composite ``prims`` far to near over ``background`` (float32 S x S x 3): (uint8 image, part labels)."""
    size = background.shape[0]
    img = background.copy()
    labels = np.zeros((size, size), np.uint8)
    for p in sorted(prims, key=lambda p: p.depth):
        (x0, y0), (x1, y1) = p.box(size)
        if x1 <= x0 or y1 <= y0:
            continue
        x = np.arange(x0, x1, dtype=np.float32)[None, :]
        y = np.arange(y0, y1, dtype=np.float32)[:, None]
        c, pos, shade = p.cover(x, y)
        if p.colour2 is None:
            col = p.colour * (shade[..., None] if np.ndim(shade) else shade)
        else:
            second = (pos % p.stripes >= p.stripes / 2) if p.stripes else (pos >= p.split)
            col = np.where(second[..., None], p.colour2, p.colour) * (shade[..., None] if np.ndim(shade) else shade)
        region = img[y0:y1, x0:x1]
        region += c[..., None] * (col - region)
        labels[y0:y1, x0:x1][c >= 0.5] = p.part
    return np.clip(img + 0.5, 0, 255).astype(np.uint8), labels


def front_part(prims: list, xy: np.ndarray) -> np.ndarray:
    """The label of the front-most part covering each pixel ``xy`` (N x 2 integer pixel coordinates)."""
    out = np.zeros(len(xy), np.uint8)
    x, y = xy[:, 0].astype(np.float32), xy[:, 1].astype(np.float32)
    for p in sorted(prims, key=lambda p: p.depth):
        out[p.cover(x, y)[0] >= 0.5] = p.part
    return out


def visibility(prims: list, joints: np.ndarray, size: int) -> np.ndarray:
    """Joints (N x 2 pixels) inside the image and not covered by a nearer part other than their own."""
    px = np.round(joints).astype(int)
    inside = np.all((px >= 0) & (px < size), axis=1)
    front = front_part(prims, np.clip(px, 0, size - 1))
    return inside & OWN_PARTS[np.arange(len(JOINTS)), front]


# ---- the figure as primitives -----------------------------------------------------------------------------------

def figure(look: Look, pose: Pose, size: int) -> tuple[np.ndarray, np.ndarray, list]:
    """(joints N x 2 pixels, joint depths, primitives) of ``look`` in ``pose`` at ``size`` px."""
    pts = skeleton(look, pose)
    names = list(pts)
    xy = to_pixels(pose, size, np.array([pts[k] for k in names]))
    px = {k: xy[i] for i, k in enumerate(names)}
    z = {k: float(v[2]) for k, v in pts.items()}
    s = pose.scale * size
    rad = {k: max(v * s, 0.8) for k, v in look.radii.items()}
    col, prims = look.colours, []

    def capsule(part, a, b, r0, r1=None, c=None, c2=None, split=2.0, dz=0.0):
        prims.append(Prim((z[a] + z[b]) / 2 + dz if isinstance(a, str) else dz, P[part], "capsule",
                          (px[a] if isinstance(a, str) else a, px[b] if isinstance(b, str) else b,
                           r0, r1 if r1 is not None else r0), c, c2, split))

    legs = col["skin"] if look.shorts else col["trousers"]
    for side in "lr":
        arm = look.sleeves
        capsule(f"{side}_upper_arm", f"{side}_shoulder", f"{side}_elbow", rad["upper_arm"], rad["forearm"] * 1.1,
                col["shirt"], col["skin"], split=arm)
        capsule(f"{side}_forearm", f"{side}_elbow", f"{side}_hand", rad["forearm"], rad["forearm"] * 1.05,
                col["skin"] if arm < 1.5 else col["shirt"], col["skin"], split=0.75)
        capsule(f"{side}_thigh", f"{side}_hip", f"{side}_knee", rad["thigh"], rad["shin"] * 1.1,
                col["trousers"], legs, split=0.55 if look.shorts else 2.0)
        capsule(f"{side}_shin", f"{side}_knee", f"{side}_ankle", rad["shin"], rad["shin"] * 0.85, legs)
        capsule(f"{side}_shin", f"{side}_ankle", f"{side}_toe", rad["shin"] * 0.9, rad["shin"] * 0.8, col["shoes"],
                dz=0.001)
    # Torso: a trapezoid from the shoulders to the hips, as wide as its turned silhouette.
    spine = px["neck"] - px["pelvis"]
    perp = np.array([-spine[1], spine[0]]) / (np.hypot(*spine) + 1e-9)
    rd = look.radii["depth"]
    w_top = max(abs(px["l_shoulder"][0] - px["r_shoulder"][0]) / 2, rd * s * 0.9) + rad["upper_arm"] * 0.6
    w_bot = max(abs(px["l_hip"][0] - px["r_hip"][0]) / 2, rd * s * 0.8) + rad["thigh"] * 0.7
    top = px["neck"] + 0.1 * spine
    bot = px["pelvis"] - 0.12 * spine
    verts = [top + perp * w_top, top - perp * w_top, bot - perp * w_bot, bot + perp * w_bot]
    torso_z = (z["neck"] + z["pelvis"]) / 2 - 0.02
    axis = spine / (np.hypot(*spine) + 1e-9)
    period = 0.0
    shirt2 = None
    if look.pattern == "stripes":
        period, shirt2 = max(2.0, 0.045 * s), col["shirt2"]
    prims.append(Prim(torso_z, P["torso"], "polygon", (verts, axis), col["shirt"], shirt2, stripes=period))
    if look.pattern == "band":
        mid = px["pelvis"] + 0.62 * spine
        band = [mid + perp * w_top * 0.98 + axis * 0.06 * s, mid - perp * w_top * 0.98 + axis * 0.06 * s,
                mid - perp * w_top * 0.95 - axis * 0.03 * s, mid + perp * w_top * 0.95 - axis * 0.03 * s]
        prims.append(Prim(torso_z + 1e-4, P["torso"], "polygon", (band, axis), col["shirt2"]))
    hips = px["l_hip"] - px["r_hip"]
    prims.append(Prim(torso_z + 2e-4, P["torso"], "capsule", (px["l_hip"] + 0.15 * hips, px["r_hip"] - 0.15 * hips,
                                                                rad["thigh"] * 1.2, rad["thigh"] * 1.2), legs))
    # Head: skin, with hair on the crown and at the back when the face turns away.
    hr = look.bones["head"] * s
    capsule("head", "neck", "head", rad["forearm"] * 1.2, hr * 0.5, col["skin"], dz=-0.01)
    face = pts["body_up"]
    hair_shift = px["head"] - hr * 0.22 * np.array([face[0], face[1]]) / (np.hypot(face[0], face[1]) + 1e-9)
    facing = np.cos(np.radians(pose["turn"] + pose["twist"]))
    prims.append(Prim(z["head"] + 0.01, P["head"], "capsule", (px["head"], px["head"], hr, hr), col["skin"]))
    if facing > -0.3:
        prims.append(Prim(z["head"] + 0.011, P["head"], "capsule",
                          (hair_shift, hair_shift, hr * 0.8, hr * 0.8), col["hair"]))
        prims.append(Prim(z["head"] + 0.012, P["head"], "capsule",
                          (px["head"] + (px["head"] - hair_shift) * 0.7, px["head"] + (px["head"] - hair_shift) * 0.7,
                           hr * 0.62, hr * 0.62), col["skin"]))
    else:
        prims.append(Prim(z["head"] + 0.011, P["head"], "capsule", (px["head"], px["head"], hr * 0.97, hr * 0.97),
                          col["hair"]))
    prims += props(pose, pts, px, s, look)
    joints = np.array([px[k] for k in JOINTS], np.float32)
    depth = np.array([z[k] for k in JOINTS], np.float32)
    return joints, depth, prims


WOOD, METAL, DARK = np.array([196, 150, 90.0]), np.array([190, 192, 198.0]), np.array([40, 40, 45.0])


def props(pose: Pose, pts: dict, px: dict, s: float, look: Look) -> list:
    """Primitives of the held objects (label ``prop``), each with its own depth."""
    out = []
    hand = f"{pose.hand}_hand"
    other = ("l" if pose.hand == "r" else "r") + "_hand"
    d3 = pts["prop_dir"]

    def cap(p3a, p3b, r0, r1, c):
        a, b = to_pixels(pose, int(round(s / pose.scale)), np.array([p3a, p3b]))
        out.append(Prim(float(p3a[2] + p3b[2]) / 2 + 0.005, P["prop"], "capsule",
                        (a, b, max(r0 * s, 0.6), max(r1 * s, 0.6)), c))

    h = pts[hand]
    for name in pose.props:
        if name == "bat":
            cap(h - d3 * 0.05, h + d3 * 0.42, 0.008, 0.02, WOOD)
        elif name == "club":
            cap(h - d3 * 0.04, h + d3 * 0.5, 0.006, 0.006, METAL)
            cap(h + d3 * 0.5, h + d3 * 0.52, 0.018, 0.018, DARK)
        elif name == "racket":
            cap(h - d3 * 0.03, h + d3 * 0.14, 0.009, 0.007, DARK)
            cap(h + d3 * 0.2, h + d3 * 0.28, 0.06, 0.06, np.array([225, 228, 190.0]))
        elif name == "barbell":
            a, b = pts["l_hand"], pts["r_hand"]
            axis = (a - b) / (np.linalg.norm(a - b) + 1e-9)
            mid = (a + b) / 2
            cap(mid - axis * 0.38, mid + axis * 0.38, 0.008, 0.008, METAL)
            for e in (1, -1):
                cap(mid + e * axis * 0.3, mid + e * axis * 0.33, 0.075, 0.075, DARK)
        elif name == "ball" and pose["ball"] >= 0:
            holder = pts[other] if "racket" in pose.props else h
            c = holder + np.array([0, -0.03 - pose["ball"], 0.01])
            cap(c, c, 0.022, 0.022, np.array([235, 232, 215.0]) if "racket" not in pose.props
                else np.array([215, 235, 60.0]))
        elif name == "rope":
            a, b = pts["l_hand"], pts["r_hand"]
            phase = np.radians(pose["rope"])
            mid = pts["pelvis"] + 0.55 * np.array([0, np.cos(phase), np.sin(phase)])
            t = np.linspace(0, 1, 7)[:, None]
            curve = (1 - t) ** 2 * a + 2 * t * (1 - t) * (2 * mid - (a + b) / 2) + t ** 2 * b
            for p0, p1 in zip(curve[:-1], curve[1:]):
                cap(p0, p1, 0.007, 0.007, np.array([200, 40, 40.0]))
    return out
