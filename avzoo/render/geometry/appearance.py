"""Scalar appearance channels (creases, blush, ...): a neutral strength plus one slope per blendshape."""

from __future__ import annotations

import numpy as np

from avzoo.arkit import INDEX, NUM_BLENDSHAPES
from avzoo.render.geometry.rig import SIDES
from avzoo.render.identity import FaceIdentity

#: Scalar appearance channels (crease strengths etc.), each in about [0, 1].
AUX_NAMES: tuple[str, ...] = (
    "forehead", "frown", "sneerL", "sneerR", "dimpleL", "dimpleR", "nasoL", "nasoR",
    "cornerL", "cornerR", "eyecreaseL", "eyecreaseR", "blushL", "blushR", "crowL", "crowR",
    "puff", "chin", "tongue",
)  # fmt: skip
AUX = {n: i for i, n in enumerate(AUX_NAMES)}


def appearance_strengths(ident: FaceIdentity) -> tuple[np.ndarray, np.ndarray]:
    """Neutral strengths (n_aux,) and their blendshape slopes (52, n_aux); age deepens the lines."""
    aux0 = np.zeros(len(AUX_NAMES))
    auxd = np.zeros((NUM_BLENDSHAPES, len(AUX_NAMES)))

    def ax(name, channel, k):
        auxd[INDEX[channel], AUX[name]] += k

    aux0[AUX["forehead"]] = 0.25 * ident.age
    aux0[AUX["frown"]] = 0.15 * ident.age
    ax("forehead", "browInnerUp", 0.8)
    ax("forehead", "browOuterUpLeft", 0.3)
    ax("forehead", "browOuterUpRight", 0.3)
    ax("frown", "browDownLeft", 0.5)
    ax("frown", "browDownRight", 0.5)
    ax("puff", "cheekPuff", 1.0)
    ax("chin", "mouthShrugLower", 0.9)
    ax("chin", "mouthPressLeft", 0.15)
    ax("chin", "mouthPressRight", 0.15)
    ax("tongue", "tongueOut", 1.0)
    for s, S in SIDES:
        L = "L" if s > 0 else "R"
        aux0[AUX["naso" + L]] = 0.05 + 0.35 * ident.age
        aux0[AUX["eyecrease" + L]] = 0.25 * ident.age
        aux0[AUX["crow" + L]] = 0.2 * ident.age
        aux0[AUX["blush" + L]] = 0.4 * ident.blush
        ax("sneer" + L, f"noseSneer{S}", 1.0)
        ax("dimple" + L, f"mouthDimple{S}", 1.0)
        ax("dimple" + L, f"mouthSmile{S}", 0.2)
        for ch_, k in (
            (f"mouthSmile{S}", 0.6),
            (f"mouthUpperUp{S}", 0.4),
            (f"noseSneer{S}", 0.4),
            (f"cheekSquint{S}", 0.2),
            ("cheekPuff", -0.3),
        ):
            ax("naso" + L, ch_, k)
        for ch_, k in (
            (f"mouthSmile{S}", 0.7),
            (f"mouthDimple{S}", 0.3),
            (f"mouthPress{S}", 0.35),
            (f"mouthFrown{S}", 0.45),
        ):
            ax("corner" + L, ch_, k)
        for ch_, k in ((f"cheekSquint{S}", 0.8), (f"mouthSmile{S}", 0.3), (f"eyeSquint{S}", 0.3)):
            ax("eyecrease" + L, ch_, k)
        for ch_, k in ((f"cheekSquint{S}", 0.3), (f"mouthSmile{S}", 0.15), ("cheekPuff", 0.2)):
            ax("blush" + L, ch_, k)
        for ch_, k in ((f"eyeSquint{S}", 0.7), (f"cheekSquint{S}", 0.3), (f"mouthSmile{S}", 0.15)):
            ax("crow" + L, ch_, k)
    return aux0, auxd
