"""Painting the synthetic faces: vector shapes on a supersampled canvas, box-filtered down.

The painter draws, back to front: hair behind the head, neck and shirt, ears, the face
(the jaw landmarks closed by a forehead arc), hair in front, wrinkles, eyes (sclera,
iris, lids, lashes), brows, nose and mouth (interior, teeth, tongue, lips). Soft
effects (cheek blush, the highlight of puffed cheeks, lighting, sensor noise) are
applied to the final pixels. Drawing at ``ss`` times the size and averaging ``ss x ss``
blocks anti-aliases every edge.

Expressions change appearance, not only geometry: teeth and the mouth interior appear
as the lips part, eyelids cover the eye, forehead and glabella lines, crow's feet and
nasolabial folds deepen with the actions that cause them. A generator that only warps
the neutral face's pixels cannot produce them.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from PIL import Image, ImageDraw

SKIN_TONES = np.array([(250, 222, 200), (241, 196, 170), (226, 175, 140), (200, 140, 104),
                       (165, 108, 76), (125, 82, 56), (92, 60, 42)], dtype=float)
HAIR_COLOURS = np.array([(25, 20, 18), (60, 40, 28), (110, 72, 40), (190, 150, 90),
                         (150, 60, 30), (130, 128, 125), (215, 210, 200)], dtype=float)
IRIS_COLOURS = np.array([(70, 40, 20), (110, 70, 35), (60, 110, 170), (70, 120, 80),
                         (120, 100, 50), (110, 120, 130)], dtype=float)
HAIR_STYLES = ("short", "long", "bald", "fringe", "side-part")


def sample_look(rng: np.random.Generator) -> dict:
    """Draw one identity's appearance: colours, hair style, lighting, noise."""
    skin = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.94, 1.04, 3)
    hair = HAIR_COLOURS[rng.integers(len(HAIR_COLOURS))] * rng.uniform(0.85, 1.15)
    lip = skin * np.array([0.86, 0.58, 0.60]) * rng.uniform(0.9, 1.05) + np.array([25, 5, 10])
    bg = rng.uniform(60, 230, 3)
    angle = rng.uniform(0, 2 * np.pi)
    return {
        "skin": np.clip(skin, 0, 255),
        "hair": np.clip(hair, 0, 255),
        "hair_style": HAIR_STYLES[rng.integers(len(HAIR_STYLES))],
        "brow": np.clip(np.minimum(hair, skin * 0.55) * rng.uniform(0.7, 1.0), 0, 255),
        "brow_thick": float(rng.uniform(0.016, 0.032)),
        "iris": IRIS_COLOURS[rng.integers(len(IRIS_COLOURS))] * rng.uniform(0.85, 1.15),
        "lip": np.clip(lip, 0, 255),
        "teeth": np.array([238, 232, 214]) * rng.uniform(0.9, 1.0),
        "bg": bg,
        "shirt": rng.uniform(20, 235, 3),
        "light": (math.cos(angle), math.sin(angle), float(rng.uniform(0.05, 0.3))),
        "noise": float(rng.uniform(0.0, 3.0)),
        "scale": float(rng.uniform(0.66, 0.74)),  # image widths per face unit
    }


def supersampling(size: int) -> int:
    """Canvas oversampling factor: draw on a canvas of at least 256 px."""
    return max(2, math.ceil(256 / size))


def paint(shape: dict, look: dict, act: dict, lm: np.ndarray, to_px, size: int,
          rng: np.random.Generator | None = None) -> np.ndarray:
    """Render one frame as size x size x 3 uint8.

    ``lm``: the 68 landmarks in the normalised face frame (:func:`face_shape.landmarks`).
    ``to_px``: maps normalised points (N x 2) to output pixel coordinates (the pose).
    """
    ss = supersampling(size)
    canvas = Image.new("RGB", (size * ss, size * ss), _rgb(look["bg"]))
    pen = _Pen(ImageDraw.Draw(canvas), to_px, ss, size * look["scale"])
    skin = look["skin"]

    _hair_back(pen, shape, look)
    pen.polygon([(-0.17, 0.3), (0.17, 0.3), (0.2, 1.3), (-0.2, 1.3)], skin * 0.82)  # neck
    pen.polygon(_ellipse(0.0, 1.22, 0.85, 0.38), look["shirt"])
    for side in (-1, 1):
        pen.polygon(_ellipse(side * (shape["face_w"] + 0.015), shape["eye_y"] + 0.09, 0.045, 0.085), skin * 0.93)
    pen.polygon(np.concatenate([_smooth(lm[0:17], closed=False), _forehead(shape)]), skin)
    _hair_front(pen, shape, look)
    _wrinkles(pen, shape, look, act, lm)
    _eyes(pen, shape, look, act, lm)
    for brow in (lm[17:22], lm[22:27][::-1]):  # both listed outer -> inner
        _brow(pen, brow, look)
    _nose(pen, look, lm)
    _mouth(pen, look, act, lm)

    img = np.asarray(canvas.reduce(ss), dtype=np.float32)
    img = _soft_effects(img, shape, look, act, to_px, size)
    if rng is not None and look["noise"] > 0:
        img += rng.normal(0.0, look["noise"], img.shape).astype(np.float32)
    return np.clip(img + 0.5, 0, 255).astype(np.uint8)


class _Pen:
    """Draws shapes given in the normalised face frame onto the supersampled canvas."""

    def __init__(self, draw, to_px, ss, unit_px):
        self.draw, self.to_px, self.ss = draw, to_px, ss
        self.unit = unit_px * ss  # canvas pixels per normalised unit

    def _xy(self, pts):
        q = (self.to_px(np.asarray(pts, dtype=float)) + 0.5) * self.ss - 0.5
        return q.ravel().tolist()

    def polygon(self, pts, colour):
        self.draw.polygon(self._xy(pts), fill=_rgb(colour))

    def line(self, pts, colour, width):
        w = max(1, round(width * self.unit))
        self.draw.line(self._xy(pts), fill=_rgb(colour), width=w, joint="curve")

    def ellipse(self, cx, cy, rx, ry, colour):
        self.polygon(_ellipse(cx, cy, rx, ry), colour)


def _rgb(c) -> tuple:
    if isinstance(c, np.ndarray):
        c = c.tolist()
    return tuple(min(255, max(0, int(v))) for v in c)


def _mix(a, b, t):
    return np.asarray(a) * (1 - t) + np.asarray(b) * t


@lru_cache(maxsize=64)
def _unit_arc(n, t0, t1):
    t = np.linspace(t0, t1, n, endpoint=(t1 - t0) < 2 * np.pi)
    return np.stack([np.cos(t), np.sin(t)], axis=1)


def _ellipse(cx, cy, rx, ry, n=28, t0=0.0, t1=2 * np.pi):
    return _unit_arc(n, t0, t1) * (rx, ry) + (cx, cy)


@lru_cache(maxsize=64)
def _catmull_rom_matrix(n: int, closed: bool, k: int) -> np.ndarray:
    """Matrix mapping n control points to the Catmull-Rom spline through them (k samples a segment)."""
    t = np.linspace(0, 1, k, endpoint=False)
    basis = 0.5 * np.stack([-t + 2 * t**2 - t**3, 2 - 5 * t**2 + 3 * t**3,
                            t + 4 * t**2 - 3 * t**3, -(t**2) + t**3], axis=1)  # k x 4 (p0..p3)
    # Padded control points: closed curves wrap around, open ones are extended linearly.
    pad = np.zeros((n + 3, n))
    pad[1:n + 1] = np.eye(n)
    if closed:
        pad[0, n - 1] = pad[n + 1, 0] = pad[n + 2, 1] = 1.0
        segments = n
    else:
        pad[0, 0], pad[0, 1] = 2.0, -1.0
        pad[n + 1, n - 1], pad[n + 1, n - 2] = 2.0, -1.0
        segments = n - 1
    rows = [basis @ pad[i:i + 4] for i in range(segments)]
    if not closed:
        rows.append(pad[n:n + 1])
    return np.concatenate(rows)


def _smooth(pts, closed=True, k=4):
    """Catmull-Rom spline through the points, ``k`` samples per segment."""
    p = np.asarray(pts, dtype=float)
    return _catmull_rom_matrix(len(p), closed, k) @ p


def _forehead(s):
    """The top of the head, from the image-right temple over to the image-left one."""
    top_y = s["eye_y"] - 0.44
    base_y = s["eye_y"] + 0.02
    t = np.linspace(0.0, np.pi, 15)[1:-1]
    return np.stack([s["face_w"] * 1.01 * np.cos(t), base_y - (base_y - top_y) * np.sin(t) ** 0.8], axis=1)


def _hair_back(pen, s, look):
    style = look["hair_style"]
    if style in ("long", "side-part"):
        w = s["face_w"] + 0.1
        bottom = s["chin_y"] + (0.25 if style == "long" else -0.05)
        top = s["eye_y"] - 0.52
        pts = np.concatenate([_ellipse(0, top + (s["eye_y"] - top), w, s["eye_y"] - top, 20, np.pi, 2 * np.pi),
                              [(w, bottom), (-w, bottom)]])
        pen.polygon(pts, look["hair"] * 0.8)


def _hair_front(pen, s, look):
    style = look["hair_style"]
    hair = look["hair"]
    fw, ey = s["face_w"], s["eye_y"]
    top = ey - 0.5
    outer = _ellipse(0, ey, fw * 1.08, ey - top, 24, np.pi, 2 * np.pi)  # left temple -> over -> right temple
    if style == "bald":
        for side in (-1, 1):  # a little hair above the ears
            pen.polygon(_smooth([(side * fw * 1.03, ey - 0.12), (side * fw * 0.95, ey - 0.1),
                                 (side * fw * 0.96, ey + 0.06), (side * fw * 1.05, ey + 0.08)]), hair)
        return
    line_y = {"short": ey - 0.3, "long": ey - 0.28, "fringe": ey - 0.19, "side-part": ey - 0.27}[style]
    x = np.linspace(fw * 0.98, -fw * 0.98, 15)
    u = x / fw
    hairline = line_y + 0.13 * u**4
    if style == "fringe":
        hairline = hairline + 0.018 * np.cos(u * 11)
    if style == "side-part":
        hairline = hairline + 0.05 * (u + 1) * (1 - u) * 0.5 - 0.03 * u
    pen.polygon(np.concatenate([outer, np.stack([x, hairline], axis=1)]), hair)
    if style == "long":
        for side in (-1, 1):
            pen.polygon([(side * fw * 0.97, ey - 0.15), (side * fw * 1.12, ey - 0.2),
                         (side * fw * 1.18, s["chin_y"] + 0.2), (side * fw * 1.02, s["chin_y"] - 0.05)], hair)


def _wrinkles(pen, s, look, act, lm):
    skin = look["skin"]
    dark = skin * 0.45

    def crease(pts, strength, width=0.01):
        if strength > 0.04:
            pen.line(_smooth(pts, closed=False), _mix(skin, dark, min(1.0, strength)), width)

    brow_top = min(lm[19, 1], lm[24, 1])
    for k in range(3):  # forehead lines (brow raise)
        y = brow_top - 0.045 - 0.04 * k
        xs = np.linspace(-0.16 + 0.02 * k, 0.16 - 0.02 * k, 5)
        crease(np.stack([xs, y + 0.02 * (xs / 0.16) ** 2], axis=1), 0.9 * act["brow_raise"] ** 1.2 - 0.1 * k)
    for side in (-1, 1):
        inner = lm[21] if side < 0 else lm[22]
        crease([(side * 0.022, inner[1] - 0.025), (side * 0.02, inner[1] + 0.01), (side * 0.026, inner[1] + 0.045)],
               1.1 * act["brow_lower"], 0.007)  # glabella lines (brow lower)
        nose = lm[31] if side < 0 else lm[35]
        corner = lm[48] if side < 0 else lm[54]
        fold = act["smile"] + (act["smirk"] if side > 0 else 0.0) + 0.4 * act["cheek_puff"]
        crease([(nose[0] + side * 0.02, nose[1] - 0.03), (corner[0] + side * 0.045, corner[1] - 0.035),
                (corner[0] + side * 0.04, corner[1] + 0.07)], 0.85 * fold, 0.009)  # nasolabial folds
        outer = lm[36] if side < 0 else lm[45]
        for dy in (-0.02, 0.0, 0.022):  # crow's feet (cheek raise)
            crease([(outer[0] + side * 0.025, outer[1] + dy * 0.5), (outer[0] + side * 0.065, outer[1] + dy * 1.8)],
                   1.2 * act["cheek_raise"] ** 1.5 - 0.15, 0.006)
    if act["smirk"] > 0.04:  # the one-sided dimple of contempt
        c = lm[54]
        crease([(c[0] + 0.012, c[1] - 0.025), (c[0] + 0.025, c[1]), (c[0] + 0.014, c[1] + 0.025)],
               act["smirk"], 0.008)


def _eyes(pen, s, look, act, lm):
    skin = look["skin"]
    for eye in (lm[36:42], lm[42:48]):
        cx = eye[[0, 3], 0].mean()
        upper = _smooth(eye[[0, 1, 2, 3]], closed=False)
        lower = _smooth(eye[[3, 4, 5, 0]], closed=False)
        pen.polygon(np.concatenate([upper, lower]), (240, 236, 230))
        r = 1.05 * s["eye_h"]
        cy = s["eye_y"] + 0.05 * s["eye_h"] - 0.9 * r * act["gaze_up"]
        pen.ellipse(cx, cy, r, r, look["iris"])
        pen.ellipse(cx, cy, 0.42 * r, 0.42 * r, (15, 12, 12))
        pen.ellipse(cx - 0.3 * r, cy - 0.35 * r, 0.16 * r, 0.16 * r, (250, 250, 250))
        # Lids: skin above the upper and below the lower contour hides the iris' overflow.
        lift = np.array([0.0, -0.07])
        pen.polygon(np.concatenate([upper, upper[::-1] + lift]), skin)
        pen.polygon(np.concatenate([lower, lower[::-1] - lift * 0.8]), skin)
        # The visible eyelid grows as the eye closes; its crease stays where the open lid folds.
        crease_y = s["eye_y"] - s["eye_h"] * (1.35 + 0.5 * act["lid_raise"]) - 0.006
        crease = np.stack([upper[:, 0], crease_y + (upper[:, 1] - upper[:, 1].min()) * 0.35], axis=1)
        lid = np.concatenate([upper, crease[::-1]])
        pen.polygon(lid, skin * np.array([0.93, 0.9, 0.92]))
        pen.line(crease, skin * 0.72, 0.005)
        pen.line(upper, (30, 22, 20), 0.009)                 # lash line
        pen.line(lower, _mix(skin, (60, 40, 35), 0.45), 0.004)


def _brow(pen, brow, look):
    """A tapered stroke, thick at the inner end."""
    pts = _smooth(brow, closed=False, k=3)
    d = np.gradient(pts, axis=0)
    n = np.stack([-d[:, 1], d[:, 0]], axis=1)
    n /= np.linalg.norm(n, axis=1, keepdims=True) + 1e-9
    half = look["brow_thick"] * np.linspace(0.45, 1.0, len(pts))[:, None] * 0.5
    pen.polygon(np.concatenate([pts + n * half, (pts - n * half)[::-1]]), look["brow"])


def _nose(pen, look, lm):
    skin = look["skin"]
    pen.line(_smooth(lm[[31, 32, 33, 34, 35]], closed=False), skin * 0.72, 0.007)
    for i, side in ((32, -1), (34, 1)):
        pen.ellipse(lm[i, 0] + side * 0.008, lm[i, 1] - 0.006, 0.014, 0.007, skin * 0.4)
    pen.line([lm[28] + (0.022, 0), lm[30] + (0.03, -0.02)], skin * 0.9, 0.006)  # side of the bridge


def _mouth(pen, look, act, lm):
    m = lm[48:68]
    inner_up, inner_lo = m[[12, 13, 14, 15, 16]], m[[16, 17, 18, 19, 12]]
    gap = float(np.max(m[[17, 18, 19], 1] - m[[15, 14, 13], 1]))
    if gap > 0.004:
        hole = np.concatenate([_smooth(inner_up, closed=False), _smooth(inner_lo, closed=False)])
        pen.polygon(hole, (62, 18, 24))
        if act["jaw_drop"] > 0.15:
            c = inner_lo[2]
            pen.ellipse(c[0], c[1] - 0.25 * gap, 0.6 * (m[16, 0] - m[12, 0]) / 2, 0.22 * gap, (185, 85, 95))
        teeth = _smooth(inner_up, closed=False)
        pen.polygon(np.concatenate([teeth, teeth[::-1] + (0, 0.03)]), look["teeth"])
        if act["jaw_drop"] > 0.35:
            low = _smooth(inner_lo, closed=False)
            pen.polygon(np.concatenate([low, low[::-1] - (0, 0.018)]), look["teeth"] * 0.9)
    lip = look["lip"]
    upper_outer, lower_outer = m[0:7], m[[6, 7, 8, 9, 10, 11, 0]]
    pen.polygon(np.concatenate([_smooth(upper_outer, closed=False), _smooth(inner_up, closed=False)[::-1]]), lip)
    pen.polygon(np.concatenate([_smooth(lower_outer, closed=False), _smooth(inner_lo[::-1], closed=False)[::-1]]),
                lip * 1.06)
    pen.line(_smooth(inner_up, closed=False), lip * 0.55, 0.006)


@lru_cache(maxsize=256)
def _shade(light: tuple, size: int) -> np.ndarray:
    """The identity's lighting: a linear gradient across the image (size x size x 1)."""
    lx, ly, strength = light
    r = (np.arange(size, dtype=np.float32) - size / 2) / size
    return (1.0 + strength * (r[None, :] * lx + r[:, None] * ly))[..., None]


def _soft_effects(img, s, look, act, to_px, size):
    """Blush and puffed-cheek highlights, then the identity's lighting gradient."""
    blush = 0.28 * act["cheek_raise"] + 0.18 * act["cheek_puff"] + 0.06 * act["smile"]
    shine = 0.16 * act["cheek_puff"]
    if blush > 0.01 or shine > 0.01:
        sigma = 0.07 * size * look["scale"]
        r = np.arange(size, dtype=np.float32)
        centres = to_px(np.array([[side * (s["eye_dx"] + 0.05), s["nose_y"] + 0.02] for side in (-1, 1)]))
        red_alpha = np.zeros((size, size), np.float32)
        white_alpha = np.zeros((size, size), np.float32)
        for cx, cy in centres:
            gy = np.exp(-((r - cy) ** 2) / (2 * sigma**2))
            g = np.outer(gy, np.exp(-((r - cx) ** 2) / (2 * sigma**2)))
            top = np.exp(-((r - cy + 0.5 * sigma) ** 2) / sigma**2)  # the bulge catches light above
            red_alpha += blush * g
            white_alpha += shine * g * top[:, None]
        img = (img * (1.0 - red_alpha - white_alpha)[..., None] + red_alpha[..., None] * _BLUSH
               + white_alpha[..., None] * 255.0)
    return img * _shade(tuple(look["light"]), size)


_BLUSH = np.array([225, 80, 85], dtype=np.float32)
