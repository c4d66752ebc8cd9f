"""Geometry of the synthetic faces: 68 iBUG landmarks from identity shape + action units.

A face lives in a normalised frame: x to the right, y down, the face centre at the
origin and a half-width of about 0.42. An identity fixes the *shape* parameters
(face width, eye spacing, mouth width, ...). An expression moves the face through
*action units* in the spirit of FACS (brow raise, smile, jaw drop, ...): every action
is a scalar >= 0 and the landmarks are a deterministic function of shape + actions.
The painter (:mod:`face_paint`) reads the same actions to draw what geometry alone
cannot show: teeth, eyelids, wrinkles, cheek shading.

iBUG-68 order (image left = the subject's right):
0-16 jaw, 17-21 / 22-26 brows, 27-30 nose bridge, 31-35 nostrils,
36-41 / 42-47 eyes (corner, 2 upper, corner, 2 lower), 48-59 outer lips, 60-67 inner lips.
"""

from __future__ import annotations

import numpy as np

# name: (mean, spread) of the uniform distribution each identity draws from.
SHAPE_PRIOR = {
    "face_w": (0.42, 0.035),     # half-width at the cheekbones
    "jaw_w": (0.72, 0.08),       # jaw width relative to face_w
    "chin_y": (0.60, 0.045),     # chin height
    "eye_y": (-0.06, 0.02),
    "eye_dx": (0.175, 0.015),    # half the distance between the eye centres
    "eye_w": (0.072, 0.008),     # half-width of an eye
    "eye_h": (0.030, 0.005),     # half-height of the open eye
    "brow_gap": (0.085, 0.015),  # brow height above the eye centre
    "brow_slope": (0.0, 0.025),  # outer end up (+) or down (-)
    "brow_len": (0.135, 0.015),
    "nose_y": (0.19, 0.022),     # height of the nostrils
    "nose_w": (0.068, 0.012),
    "mouth_y": (0.36, 0.025),
    "mouth_w": (0.125, 0.015),   # half-width of the mouth
    "lip_up": (0.032, 0.008),    # upper-lip thickness
    "lip_lo": (0.042, 0.010),    # lower-lip thickness
}

ACTIONS = (
    "brow_raise",     # AU1+2: brows up, forehead lines
    "brow_lower",     # AU4: inner brows down and in, glabella lines
    "lid_raise",      # AU5: upper lids up, more sclera
    "lid_tighten",    # AU7: lower lids up, eyes narrow
    "eye_close",      # AU43: upper lids meet the lower lids
    "cheek_raise",    # AU6: cheeks up, crow's feet, blush
    "smile",          # AU12: mouth corners up and out, nasolabial folds
    "smirk",          # AU12+14 on the image-right side only: contempt
    "lips_part",      # AU25 + AU10: lips apart, upper teeth show
    "jaw_drop",       # AU26/27: mouth opens wide, chin down
    "lip_press",      # AU23/24: thin, narrow lips
    "cheek_puff",     # AU34: cheeks bulge, lips pucker
    "nostril_flare",  # AU38
    "gaze_up",        # eyes look up (iris position only)
)


def sample_shape(rng: np.random.Generator) -> dict:
    """Draw one identity's shape parameters."""
    return {k: float(m + s * rng.uniform(-1.0, 1.0)) for k, (m, s) in SHAPE_PRIOR.items()}


def neutral_actions() -> dict:
    return dict.fromkeys(ACTIONS, 0.0)


def landmarks(shape: dict, actions: dict | None = None) -> np.ndarray:
    """68 x 2 landmarks in the normalised face frame for a shape under some actions."""
    act = neutral_actions()
    act.update(actions or {})
    p = np.zeros((68, 2))
    p[0:17] = _jaw(shape, act)
    p[17:27] = _brows(shape, act)
    p[27:36] = _nose(shape, act)
    p[36:48] = _eyes(shape, act)
    p[48:68] = _mouth(shape, act)
    return p


def _jaw(s, a):
    phi = np.linspace(0.0, np.pi, 17)
    top = s["eye_y"] + 0.02
    sin = np.sin(phi)
    # The face narrows from cheekbones to chin; jaw_w sets how square the jaw is.
    half_w = s["face_w"] * (1.0 - (1.0 - s["jaw_w"]) * sin**2.5)
    x = -np.cos(phi) * half_w
    y = top + (s["chin_y"] + 0.07 * a["jaw_drop"] - top) * sin**0.9
    # Puffed cheeks bulge outwards most at mouth height (points 3-5 and 11-13).
    bulge = np.exp(-(((phi - 0.55) / 0.35) ** 2)) + np.exp(-(((phi - (np.pi - 0.55)) / 0.35) ** 2))
    x = x * (1.0 + 0.2 * a["cheek_puff"] * bulge)
    return np.stack([x, y], axis=1)


def _brows(s, a):
    out = []
    for side in (-1, 1):  # image-left brow (17-21) runs outer -> inner, image-right inner -> outer
        t = np.linspace(0.0, 1.0, 5)  # 0 = outer end, 1 = inner end
        cx = side * s["eye_dx"]
        x = cx + side * s["brow_len"] * (0.55 - t)
        arch = 0.022 * np.sin(np.pi * (0.2 + 0.7 * t))
        y = s["eye_y"] - s["brow_gap"] - arch - s["brow_slope"] * (1.0 - t)
        y = y - a["brow_raise"] * (0.045 + 0.02 * t) - 0.015 * a["gaze_up"]
        y = y + a["brow_lower"] * (0.008 + 0.035 * t**1.5)
        x = x - side * a["brow_lower"] * 0.022 * t
        pts = np.stack([x, y], axis=1)
        out.append(pts if side < 0 else pts[::-1])
    return np.concatenate(out)


def _nose(s, a):
    bridge_top = s["eye_y"] + 0.01
    tip = s["nose_y"] - 0.025
    bridge = np.stack([np.zeros(4), np.linspace(bridge_top, tip, 4)], axis=1)
    w = s["nose_w"] * (1.0 + 0.22 * a["nostril_flare"] + 0.05 * a["smile"])
    lift = 0.012 * a["smile"] + 0.008 * a["brow_lower"]
    xs = np.array([-1.0, -0.5, 0.0, 0.5, 1.0]) * w
    ys = s["nose_y"] + np.array([-0.012, 0.006, 0.012, 0.006, -0.012]) - lift
    return np.concatenate([bridge, np.stack([xs, ys], axis=1)])


def _eyes(s, a):
    out = []
    for side in (-1, 1):
        cx, cy, w, h = side * s["eye_dx"], s["eye_y"], s["eye_w"], s["eye_h"]
        up = -h * (1.0 + 0.45 * a["lid_raise"] + 0.15 * a["gaze_up"])
        lo = h * 0.8 * (1.0 - 0.45 * a["cheek_raise"] - 0.4 * a["lid_tighten"])
        up = up * (1.0 - 0.3 * a["lid_tighten"])
        # A closing eye: the upper lid travels down to just above the lower lid.
        up = up + (lo - 0.1 * h - up) * a["eye_close"]
        ox = np.array([-1.0, -1 / 3, 1 / 3, 1.0, 1 / 3, -1 / 3]) * w
        oy = np.array([0.0, up, up, 0.0, lo, lo])
        oy[[1, 2, 4, 5]] *= np.array([0.97, 1.0, 1.0, 0.97]) if side < 0 else np.array([1.0, 0.97, 0.97, 1.0])
        pts = np.stack([cx + ox, cy + oy], axis=1)
        out.append(pts)
    return np.concatenate(out)


def _mouth(s, a):
    w, y0 = s["mouth_w"], s["mouth_y"]
    press = a["lip_press"]
    w = w * (1.0 + 0.22 * a["smile"] - 0.12 * press - 0.28 * a["cheek_puff"] - 0.12 * a["jaw_drop"])
    t_up = s["lip_up"] * (1.0 - 0.6 * press) * (1.0 + 0.2 * a["cheek_puff"])
    t_lo = s["lip_lo"] * (1.0 - 0.55 * press) * (1.0 + 0.2 * a["cheek_puff"])
    gap = 0.045 * a["lips_part"] + 0.16 * a["jaw_drop"]
    up_shift = -0.012 * a["lips_part"]           # the upper lip lifts off the teeth
    corner_up = 0.05 * a["smile"]
    xs = np.array([-1.0, -0.55, -0.18, 0.0, 0.18, 0.55, 1.0])
    # Upper lip, outer (48-54): a Cupid's bow.
    outer_up = np.stack([xs * w, y0 + up_shift - t_up * np.array([0, 0.9, 1.1, 0.85, 1.1, 0.9, 0])], axis=1)
    # Lower lip, outer (55-59), right to left.
    xl = np.array([0.55, 0.2, 0.0, -0.2, -0.55])
    outer_lo = np.stack([xl * w, y0 + gap * (1 - xl**2) + t_lo * np.array([0.85, 1.0, 1.02, 1.0, 0.85])], axis=1)
    # Inner lips: corners 60, 64; upper 61-63; lower 65-67.
    xi = np.array([-0.86, -0.4, 0.0, 0.4, 0.86])
    inner_up = np.stack([xi * w, y0 + up_shift * (1 - xi**2) - gap * 0.12 * (1 - xi**2)], axis=1)
    xil = np.array([0.4, 0.0, -0.4])
    inner_lo = np.stack([xil * w, y0 + gap * (1 - xil**2) * 0.9], axis=1)
    p = np.concatenate([outer_up, outer_lo, inner_up, inner_lo])
    # A smile raises the corners and curves both lips; the centre barely moves.
    rel = np.clip(np.abs(p[:, 0]) / max(w, 1e-6), 0, 1)
    p[:, 1] -= corner_up * rel**2
    p[[57 - 48, 66 - 48], 1] += 0.012 * a["smile"]  # lower-lip centre
    # Contempt: only the image-right corner rises and pulls back.
    right = np.clip(p[:, 0] / max(w, 1e-6), 0, 1)
    p[:, 1] -= 0.06 * a["smirk"] * right**2
    p[:, 0] += 0.035 * a["smirk"] * right**3
    return p
