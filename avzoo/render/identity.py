"""Who is rendered: the face identity (shape, proportions, colours, style, camera) and a sampler."""

from __future__ import annotations

import colorsys
import dataclasses
from dataclasses import dataclass

import numpy as np

RGB = tuple[int, int, int]

JAW_SHAPES: tuple[str, ...] = ("oval", "round", "square", "heart")
HAIR_STYLES: tuple[str, ...] = ("short", "quiff", "buzz", "bob", "long", "curly", "bun", "bald")
GLASSES: tuple[str, ...] = ("none", "round", "square")
BACKGROUNDS: tuple[str, ...] = ("solid", "vertical", "diagonal", "radial", "bokeh")
FACIAL_HAIR: tuple[str, ...] = ("none", "stubble", "moustache", "beard")

#: Monk Skin Tone scale (Google, 10 tones, light to dark); the two darkest are lifted a little so
#: that lips and brows keep some contrast in a flat-shaded drawing.
SKIN_TONES: tuple[RGB, ...] = (
    (246, 237, 228), (243, 231, 219), (247, 234, 208), (234, 218, 186), (215, 189, 150),
    (160, 126, 86), (130, 92, 67), (96, 65, 52), (66, 50, 40), (52, 40, 34),
)  # fmt: skip

HAIR_COLOURS: dict[str, RGB] = {
    "black": (28, 24, 24),
    "dark_brown": (58, 38, 28),
    "brown": (98, 64, 42),
    "light_brown": (142, 102, 66),
    "blonde": (214, 178, 112),
    "platinum": (232, 222, 196),
    "auburn": (122, 48, 30),
    "ginger": (192, 96, 44),
    "grey": (150, 148, 146),
    "white": (228, 226, 222),
    "blue": (62, 92, 172),
    "pink": (222, 112, 162),
    "purple": (112, 70, 152),
}
IRIS_COLOURS: dict[str, RGB] = {
    "dark_brown": (66, 42, 28),
    "brown": (112, 70, 38),
    "hazel": (138, 108, 58),
    "amber": (170, 112, 40),
    "green": (86, 128, 78),
    "blue": (78, 128, 190),
    "grey": (128, 142, 152),
}


def _rgb(value, name: str) -> RGB:
    try:
        r, g, b = (int(v) for v in value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be an (r, g, b) triple of ints in [0, 255], got {value!r}") from None
    if not all(0 <= v <= 255 for v in (r, g, b)):
        raise ValueError(f"{name} must be an (r, g, b) triple of ints in [0, 255], got {value!r}")
    return (r, g, b)


# name -> (low, high) accepted range of the float fields
_RANGES: dict[str, tuple[float, float]] = {
    "face_width": (0.8, 1.2),
    "face_height": (0.85, 1.15),
    "chin_width": (0.6, 1.4),
    "eye_spacing": (0.85, 1.15),
    "eye_size": (0.75, 1.3),
    "eye_tilt": (-1.0, 1.0),
    "nose_length": (0.8, 1.2),
    "nose_width": (0.75, 1.3),
    "mouth_width": (0.8, 1.2),
    "lip_thickness": (0.6, 1.4),
    "brow_thickness": (0.5, 1.6),
    "brow_height": (-1.0, 1.0),
    "age": (0.0, 1.0),
    "blush": (0.0, 1.0),
    "light_angle": (-np.pi, np.pi),
    "light_intensity": (0.0, 1.0),
    "jitter_translate": (0.0, 0.05),
    "jitter_scale": (0.0, 0.1),
    "jitter_rotate": (0.0, 0.2),
    "noise": (0.0, 30.0),
    "blur": (0.0, 3.0),
    "face_scale": (0.15, 0.32),
    "center_x": (0.35, 0.65),
    "center_y": (0.3, 0.6),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "jaw": JAW_SHAPES,
    "hair_style": HAIR_STYLES,
    "glasses": GLASSES,
    "background_style": BACKGROUNDS,
    "facial_hair": FACIAL_HAIR,
}


@dataclass(frozen=True)
class FaceIdentity:
    """Everything about a rendered person and their camera that stays fixed over a clip.

    Shape fields are multipliers around 1.0 (or offsets around 0.0) of a pleasant average face;
    colours are RGB. Light comes *from* ``light_angle`` (radians, image plane, x right, y down:
    ``-pi/2`` is from above, ``pi`` from the image left). Camera jitter is the per-frame standard
    deviation of translation (fraction of the image), scale (fraction) and rotation (radians);
    ``noise`` is the sensor noise standard deviation in 0-255 units; ``blur`` the Gaussian blur
    sigma in pixels of a 96-pixel frame (scaled with the frame size). ``face_scale`` is the head's
    half-width as a fraction of the shorter image side, ``center_x/center_y`` where the eye line's
    midpoint sits in the image, as fractions.
    """

    seed: int = 0
    # shape and proportions
    face_width: float = 1.0
    face_height: float = 1.0
    jaw: str = "oval"
    chin_width: float = 1.0
    eye_spacing: float = 1.0
    eye_size: float = 1.0
    eye_tilt: float = 0.0
    nose_length: float = 1.0
    nose_width: float = 1.0
    mouth_width: float = 1.0
    lip_thickness: float = 1.0
    brow_thickness: float = 1.0
    brow_height: float = 0.0
    age: float = 0.1
    # colours and style
    skin: RGB = (224, 190, 160)
    lip_tint: RGB = (196, 92, 100)
    iris: RGB = IRIS_COLOURS["brown"]
    hair: RGB = HAIR_COLOURS["brown"]
    hair_style: str = "short"
    facial_hair: str = "none"
    blush: float = 0.3
    glasses: str = "none"
    glasses_colour: RGB = (40, 36, 36)
    shirt: RGB = (70, 110, 160)
    background: tuple[RGB, RGB] = ((214, 226, 236), (168, 190, 212))
    background_style: str = "vertical"
    # light and camera
    light_angle: float = -2.2
    light_intensity: float = 0.6
    jitter_translate: float = 0.0
    jitter_scale: float = 0.0
    jitter_rotate: float = 0.0
    noise: float = 0.0
    blur: float = 0.0
    face_scale: float = 0.23
    center_x: float = 0.5
    center_y: float = 0.42

    def __post_init__(self) -> None:
        for name, (lo, hi) in _RANGES.items():
            v = getattr(self, name)
            if not isinstance(v, (int, float, np.floating, np.integer)) or not lo <= float(v) <= hi:
                raise ValueError(f"FaceIdentity.{name} must be a number in [{lo:g}, {hi:g}], got {v!r}")
            object.__setattr__(self, name, float(v))
        for name, options in _CHOICES.items():
            if getattr(self, name) not in options:
                raise ValueError(f"FaceIdentity.{name} must be one of {options}, got {getattr(self, name)!r}")
        for name in ("skin", "lip_tint", "iris", "hair", "glasses_colour", "shirt"):
            object.__setattr__(self, name, _rgb(getattr(self, name), name))
        bg = self.background
        if not isinstance(bg, (tuple, list)) or len(bg) != 2:
            raise ValueError(f"FaceIdentity.background must be two RGB colours, got {bg!r}")
        object.__setattr__(self, "background", (_rgb(bg[0], "background[0]"), _rgb(bg[1], "background[1]")))
        if not isinstance(self.seed, (int, np.integer)):
            raise ValueError(f"FaceIdentity.seed must be an int, got {self.seed!r}")
        object.__setattr__(self, "seed", int(self.seed))

    def replace(self, **changes) -> FaceIdentity:
        """A copy with some fields changed (validated like the original)."""
        return dataclasses.replace(self, **changes)

    def still(self) -> FaceIdentity:
        """The same person with a steady camera and no sensor noise or blur (for tests and demos)."""
        return self.replace(jitter_translate=0.0, jitter_scale=0.0, jitter_rotate=0.0, noise=0.0, blur=0.0)


def _hsv(h: float, s: float, v: float) -> RGB:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return (round(r * 255), round(g * 255), round(b * 255))


def _skin(rng: np.random.Generator) -> RGB:
    t = rng.uniform(0, len(SKIN_TONES) - 1)
    i = min(int(t), len(SKIN_TONES) - 2)
    f = t - i
    base = (1 - f) * np.array(SKIN_TONES[i], float) + f * np.array(SKIN_TONES[i + 1], float)
    # the scale's palest tones read as paper in a flat drawing: warm them a little
    base *= np.array([1.0, 0.97, 0.93])
    # brightness and warm/olive variation, keeping the red >= green >= blue order of real skin
    base *= rng.uniform(0.96, 1.04)
    warm = rng.normal(0, 0.025) * base.mean()
    base += np.array([warm, 0.0, -warm])
    base[1] = min(base[1], base[0] - 4)
    base[2] = min(base[2], base[1] - 4)
    return tuple(int(v) for v in np.clip(np.rint(base), 0, 255))  # type: ignore[return-value]


def _pick(rng: np.random.Generator, options: dict[str, float]) -> str:
    names = list(options)
    p = np.array([options[n] for n in names], float)
    return names[int(rng.choice(len(names), p=p / p.sum()))]


def _jitter_colour(rng: np.random.Generator, c: RGB, amount: float = 0.06) -> RGB:
    v = np.array(c, float) * (1.0 + rng.normal(0, amount, 3))
    return tuple(int(x) for x in np.clip(np.rint(v), 0, 255))  # type: ignore[return-value]


def random_identity(seed: int | np.random.Generator = 0, *, camera: bool = True) -> FaceIdentity:
    """Sample a varied identity, deterministic per ``seed``.

    Skin tones span the Monk scale; hair colour loosely follows skin tone (plus greys and dyes);
    about a quarter wear glasses. ``camera=False`` gives a steady camera without noise or blur.
    """
    if isinstance(seed, np.random.Generator):
        rng = seed
        seed_int = int(rng.integers(0, 2**31 - 1))
    else:
        if not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ValueError(f"seed must be a non-negative int or a numpy Generator, got {seed!r}")
        seed_int = int(seed)
        rng = np.random.default_rng(seed_int)

    skin = _skin(rng)
    darkness = 1.0 - sum(skin) / (3 * 246.0)
    hair_probs = {
        "black": 0.12 + 0.5 * darkness,
        "dark_brown": 0.22,
        "brown": 0.18,
        "light_brown": 0.1 * (1 - darkness),
        "blonde": 0.12 * (1 - darkness) ** 2,
        "platinum": 0.03,
        "auburn": 0.05 * (1 - darkness),
        "ginger": 0.05 * (1 - darkness) ** 2,
        "grey": 0.06,
        "white": 0.03,
        "blue": 0.015,
        "pink": 0.015,
        "purple": 0.015,
    }
    hair_name = _pick(rng, hair_probs)
    hair = _jitter_colour(rng, HAIR_COLOURS[hair_name])
    old = hair_name in ("grey", "white")
    style = _pick(
        rng,
        {
            "short": 0.2,
            "quiff": 0.1,
            "buzz": 0.08,
            "bob": 0.16,
            "long": 0.2,
            "curly": 0.12,
            "bun": 0.08,
            "bald": 0.06,
        },
    )
    short_hair = style in ("short", "quiff", "buzz", "bald")
    facial_hair = (
        _pick(rng, {"none": 0.55, "stubble": 0.2, "moustache": 0.08, "beard": 0.17}) if short_hair else "none"
    )
    iris_name = _pick(
        rng,
        {
            "dark_brown": 0.2 + 0.5 * darkness,
            "brown": 0.25,
            "hazel": 0.1,
            "amber": 0.04,
            "green": 0.1 * (1 - darkness),
            "blue": 0.15 * (1 - darkness) ** 2,
            "grey": 0.05 * (1 - darkness),
        },
    )
    lip_tint = _jitter_colour(rng, (196, 92, 100) if rng.random() < 0.8 else (200, 60, 80), 0.05)
    glasses = _pick(rng, {"none": 0.72, "round": 0.13, "square": 0.15})
    glasses_colour = _jitter_colour(
        rng,
        [(36, 32, 32), (92, 60, 40), (200, 170, 90), (170, 172, 178), (150, 40, 50), (40, 60, 120)][
            int(rng.choice(6, p=[0.4, 0.2, 0.1, 0.15, 0.08, 0.07]))
        ],
        0.05,
    )

    bg_h = rng.random()
    bg_dark = rng.random() < 0.2
    bg_v = rng.uniform(0.18, 0.38) if bg_dark else rng.uniform(0.72, 0.95)
    bg_s = rng.uniform(0.05, 0.45)
    bg0 = _hsv(bg_h, bg_s, bg_v)
    bg1 = _hsv(bg_h + rng.normal(0, 0.06), bg_s * rng.uniform(0.8, 1.3), bg_v * rng.uniform(0.7, 0.95))
    shirt = _hsv(rng.random(), rng.uniform(0.1, 0.75), rng.uniform(0.2, 0.9))

    up = -np.pi / 2
    light_angle = float(np.clip(up + rng.choice([-1, 1]) * rng.uniform(0.2, 1.3), -np.pi, np.pi))

    return FaceIdentity(
        seed=seed_int,
        face_width=rng.uniform(0.88, 1.12),
        face_height=rng.uniform(0.9, 1.1),
        jaw=JAW_SHAPES[int(rng.integers(len(JAW_SHAPES)))],
        chin_width=rng.uniform(0.75, 1.25),
        eye_spacing=rng.uniform(0.92, 1.08),
        eye_size=rng.uniform(0.85, 1.2),
        eye_tilt=rng.uniform(-0.6, 0.8),
        nose_length=rng.uniform(0.85, 1.15),
        nose_width=rng.uniform(0.8, 1.25),
        mouth_width=rng.uniform(0.85, 1.15),
        lip_thickness=rng.uniform(0.7, 1.3),
        brow_thickness=rng.uniform(0.6, 1.5),
        brow_height=rng.uniform(-0.6, 0.6),
        age=rng.uniform(0.55, 1.0) if old else rng.uniform(0.0, 0.6),
        skin=skin,
        lip_tint=lip_tint,
        iris=_jitter_colour(rng, IRIS_COLOURS[iris_name], 0.08),
        hair=hair,
        hair_style=style,
        facial_hair=facial_hair,
        blush=rng.uniform(0.0, 0.8),
        glasses=glasses,
        glasses_colour=glasses_colour,
        shirt=shirt,
        background=(bg0, bg1),
        background_style=BACKGROUNDS[int(rng.choice(len(BACKGROUNDS), p=[0.15, 0.3, 0.2, 0.2, 0.15]))],
        light_angle=light_angle,
        light_intensity=rng.uniform(0.2, 1.0),
        jitter_translate=rng.uniform(0.0, 0.012) if camera else 0.0,
        jitter_scale=rng.uniform(0.0, 0.02) if camera else 0.0,
        jitter_rotate=rng.uniform(0.0, 0.03) if camera else 0.0,
        noise=rng.uniform(0.0, 6.0) if camera else 0.0,
        blur=(rng.uniform(0.0, 0.8) if rng.random() < 0.4 else 0.0) if camera else 0.0,
        face_scale=rng.uniform(0.21, 0.25),
        center_x=0.5 + rng.uniform(-0.03, 0.03),
        center_y=0.42 + rng.uniform(-0.025, 0.025),
    )
