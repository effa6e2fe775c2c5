"""The 52 ARKit blendshapes: canonical order, channel groups and name-keyed conversion.

Canonical order is Apple's grouped order (``ARFaceAnchor.BlendShapeLocation`` as listed by
Epic's ``EARFaceBlendShape``), lowerCamel. Every array in avzoo is in this order along its last
axis. Other tools use other orders and spellings; convert between them *by name* with
:func:`convert`, never by index.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

ARKIT_NAMES: tuple[str, ...] = (
    "eyeBlinkLeft", "eyeLookDownLeft", "eyeLookInLeft", "eyeLookOutLeft", "eyeLookUpLeft",
    "eyeSquintLeft", "eyeWideLeft",
    "eyeBlinkRight", "eyeLookDownRight", "eyeLookInRight", "eyeLookOutRight", "eyeLookUpRight",
    "eyeSquintRight", "eyeWideRight",
    "jawForward", "jawLeft", "jawRight", "jawOpen",
    "mouthClose", "mouthFunnel", "mouthPucker", "mouthLeft", "mouthRight",
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
    "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper",
    "mouthPressLeft", "mouthPressRight", "mouthLowerDownLeft", "mouthLowerDownRight",
    "mouthUpperUpLeft", "mouthUpperUpRight",
    "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight",
    "cheekPuff", "cheekSquintLeft", "cheekSquintRight", "noseSneerLeft", "noseSneerRight",
    "tongueOut",
)  # fmt: skip
NUM_BLENDSHAPES = len(ARKIT_NAMES)
#: Frame rate of blendshape tracks across avzoo (corpus, models, metrics) unless a config says otherwise.
BLENDSHAPE_FPS = 30.0
INDEX: dict[str, int] = {name: i for i, name in enumerate(ARKIT_NAMES)}

# --- Anatomical regions --------------------------------------------------------------------
EYES = tuple(n for n in ARKIT_NAMES if n.startswith("eye"))
JAW = tuple(n for n in ARKIT_NAMES if n.startswith("jaw"))
MOUTH = tuple(n for n in ARKIT_NAMES if n.startswith("mouth"))
BROWS = tuple(n for n in ARKIT_NAMES if n.startswith("brow"))
CHEEKS = tuple(n for n in ARKIT_NAMES if n.startswith("cheek"))
NOSE = tuple(n for n in ARKIT_NAMES if n.startswith("nose"))
TONGUE = ("tongueOut",)
BLINKS = ("eyeBlinkLeft", "eyeBlinkRight")
GAZE = tuple(n for n in EYES if "Look" in n)

# --- Functional groups used by the models --------------------------------------------------
# Mouth-corner shapes that both articulation and emotion move (a smile stretches the lips, and
# so does /i/); the lipsync branch drives them and the expression branch adds to them.
SHARED = (
    "mouthSmileLeft", "mouthSmileRight", "mouthFrownLeft", "mouthFrownRight",
    "mouthDimpleLeft", "mouthDimpleRight", "mouthStretchLeft", "mouthStretchRight",
)  # fmt: skip
#: Channels driven by articulation alone: jaw, lips, tongue.
LIPSYNC = tuple(n for n in (*JAW, *MOUTH, *TONGUE) if n not in SHARED)
#: Channels driven by expression alone: eyes, brows, cheeks, nose.
EXPRESSION = (*EYES, *BROWS, *CHEEKS, *NOSE)
#: Everything the lipsync branch of a speech-driven model predicts.
SPEECH = (*LIPSYNC, *SHARED)
#: Bilabial closure channels: lips together on /p b m/.
CLOSURE = ("mouthClose", "mouthPressLeft", "mouthPressRight", "mouthRollLower", "mouthRollUpper")

GROUPS: dict[str, tuple[str, ...]] = {
    "eyes": EYES,
    "jaw": JAW,
    "mouth": MOUTH,
    "brows": BROWS,
    "cheeks": CHEEKS,
    "nose": NOSE,
    "tongue": TONGUE,
    "blinks": BLINKS,
    "gaze": GAZE,
    "lipsync": LIPSYNC,
    "shared": SHARED,
    "expression": EXPRESSION,
    "speech": SPEECH,
    "closure": CLOSURE,
}


def indices(names: Sequence[str] | str) -> list[int]:
    """Canonical indices of channel names, or of a group's channels if given a group name."""
    if isinstance(names, str):
        names = GROUPS.get(names, (names,))
    return [INDEX[canonical_name(n)] for n in names]


def positions(names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Positions of channels ``wanted`` in the channel order ``names`` (a model's own order); ``ValueError`` names
    the first unknown one."""
    index = {n: i for i, n in enumerate(names)}
    try:
        return [index[n] for n in wanted]
    except KeyError as err:
        raise ValueError(f"unknown blendshape name {err.args[0]!r}") from None


def channel_weights(names: Sequence[str], weights: Mapping[str, float]) -> np.ndarray:
    """``(len(names),)`` float32 weights from ``{name or name prefix: weight}`` (default 1); the longest match wins."""
    out = np.ones(len(names), dtype=np.float32)
    for i, name in enumerate(names):
        matches = [k for k in weights if name == k or name.startswith(k)]
        if matches:
            out[i] = weights[max(matches, key=len)]
    return out


def group_mask(group: str) -> np.ndarray:
    """Boolean mask of shape (52,) selecting a named group."""
    mask = np.zeros(NUM_BLENDSHAPES, dtype=bool)
    mask[indices(group)] = True
    return mask


# --- Spellings ------------------------------------------------------------------------------
def to_pascal(name: str) -> str:
    """``eyeBlinkLeft`` -> ``EyeBlinkLeft`` (Live Link Face spelling)."""
    return name[0].upper() + name[1:]


def to_apple_key(name: str) -> str:
    """``eyeBlinkLeft`` -> ``eyeBlink_L``: the raw ``BlendShapeLocation`` dictionary key.

    Names whose Left/Right is a side of the face get ``_L``/``_R``; ``jawLeft``, ``mouthLeft``
    and friends are directions of motion and keep their spelling.
    """
    for side, tag in (("Left", "_L"), ("Right", "_R")):
        stem = name[: -len(side)]
        if name.endswith(side) and stem not in ("jaw", "mouth"):
            return stem + tag
    return name


_ALIASES: dict[str, str] = {}
for _n in ARKIT_NAMES:
    for _alias in (_n, to_pascal(_n), to_apple_key(_n)):
        _ALIASES[_alias.lower()] = _n


def canonical_name(name: str) -> str:
    """Map any common spelling (lowerCamel, PascalCase, Apple ``_L``/``_R`` keys) to canonical."""
    try:
        return _ALIASES[name.strip().lower()]
    except KeyError:
        raise ValueError(f"unknown ARKit blendshape name {name!r}") from None


# --- Orders ---------------------------------------------------------------------------------
def _livelink_order() -> tuple[str, ...]:
    order = list(ARKIT_NAMES)
    for a, b in (("jawLeft", "jawRight"), ("mouthLeft", "mouthRight")):
        i, j = order.index(a), order.index(b)
        order[i], order[j] = order[j], order[i]
    return tuple(to_pascal(n) for n in order)


#: Live Link Face CSV: PascalCase, with jawLeft/jawRight and mouthLeft/mouthRight swapped.
LIVELINK_NAMES: tuple[str, ...] = _livelink_order()
#: EmoTalk / 3D-ETF / BEAT order: alphabetical lowerCamel.
ALPHABETICAL_NAMES: tuple[str, ...] = tuple(sorted(ARKIT_NAMES))
#: MediaPipe FaceLandmarker: ``_neutral`` then alphabetical, without ``tongueOut`` (52 entries).
MEDIAPIPE_NAMES: tuple[str, ...] = ("_neutral", *sorted(n for n in ARKIT_NAMES if n != "tongueOut"))
#: Apple's raw dictionary keys in canonical order.
APPLE_KEY_NAMES: tuple[str, ...] = tuple(to_apple_key(n) for n in ARKIT_NAMES)

ORDERS: dict[str, tuple[str, ...]] = {
    "canonical": ARKIT_NAMES,
    "livelink": LIVELINK_NAMES,
    "alphabetical": ALPHABETICAL_NAMES,
    "mediapipe": MEDIAPIPE_NAMES,
    "apple": APPLE_KEY_NAMES,
}


def _resolve(order: str | Sequence[str]) -> tuple[str, ...]:
    if isinstance(order, str):
        try:
            return ORDERS[order]
        except KeyError:
            raise ValueError(f"unknown order {order!r}; known: {sorted(ORDERS)} or a list of names") from None
    return tuple(order)


def convert(
    values: np.ndarray,
    src: str | Sequence[str],
    dst: str | Sequence[str] = "canonical",
    fill: float = 0.0,
) -> np.ndarray:
    """Reorder the last axis of ``values`` from ``src`` order to ``dst`` order, by name.

    ``src``/``dst`` are an order name from :data:`ORDERS` or an explicit list of channel names
    in any spelling. Channels that ``dst`` has and ``src`` lacks (``tongueOut`` coming from
    MediaPipe, ``_neutral`` going to it) are set to ``fill``; channels that only ``src`` has
    are dropped. Between orders holding the same 52 names the conversion is a permutation, so
    it round-trips exactly.
    """
    src_names, dst_names = _resolve(src), _resolve(dst)
    values = np.asarray(values)
    if values.shape[-1] != len(src_names):
        raise ValueError(
            f"last axis has {values.shape[-1]} channels but the source order names {len(src_names)}"
        )
    src_pos = {}
    for i, name in enumerate(src_names):
        if name.startswith("_"):
            continue  # MediaPipe's _neutral score has no blendshape counterpart
        src_pos[canonical_name(name)] = i
    out = np.full((*values.shape[:-1], len(dst_names)), fill, dtype=values.dtype)
    for j, name in enumerate(dst_names):
        if name.startswith("_"):
            continue
        i = src_pos.get(canonical_name(name))
        if i is not None:
            out[..., j] = values[..., i]
    return out


def to_dict(frame: np.ndarray) -> dict[str, float]:
    """A single (52,) canonical frame as ``{name: value}``."""
    frame = np.asarray(frame)
    if frame.shape != (NUM_BLENDSHAPES,):
        raise ValueError(f"expected shape (52,), got {frame.shape}")
    return {n: float(v) for n, v in zip(ARKIT_NAMES, frame, strict=True)}


def from_dict(values: dict[str, float], fill: float = 0.0) -> np.ndarray:
    """``{name: value}`` in any spelling -> a (52,) canonical float32 frame."""
    out = np.full(NUM_BLENDSHAPES, fill, dtype=np.float32)
    for name, v in values.items():
        if not name.startswith("_"):
            out[INDEX[canonical_name(name)]] = v
    return out
