"""Drawing primitives on uint8 RGB images (OpenCV, anti-aliased, sub-pixel) and per-size layers."""

from __future__ import annotations

import cv2
import numpy as np

from avzoo.render.identity import FaceIdentity

SHIFT = 4  # fractional bits of the fixed-point coordinates handed to OpenCV
ONE = 1 << SHIFT
AA = cv2.LINE_AA

Colour = tuple[int, int, int]


def colour(c) -> Colour:
    """An OpenCV colour tuple from any RGB-ish triple (clipped to 0-255)."""
    return tuple(int(v) for v in np.clip(np.rint(np.asarray(c, float)), 0, 255))  # type: ignore[return-value]


def mix(a, b, t: float) -> Colour:
    """Linear mix of two colours, ``t=0`` gives ``a``."""
    return colour((1.0 - t) * np.asarray(a, float) + t * np.asarray(b, float))


def fill(img: np.ndarray, pts: np.ndarray, c: Colour) -> None:
    """Fill one polygon given in fixed-point (``ONE`` units per pixel)."""
    cv2.fillPoly(img, [pts], c, AA, SHIFT)


def stroke(img: np.ndarray, pts: np.ndarray, c: Colour, thickness: int, closed: bool = False) -> None:
    """Draw a polyline given in fixed-point."""
    cv2.polylines(img, [pts], closed, c, thickness, AA, SHIFT)


def ellipse(
    img: np.ndarray, centre: np.ndarray, axes: tuple[int, int], c: Colour, angle: float = 0.0
) -> None:
    """A filled ellipse; ``centre`` and ``axes`` in fixed-point."""
    cv2.ellipse(img, (int(centre[0]), int(centre[1])), axes, angle, 0, 360, c, -1, AA, SHIFT)


def disc(img: np.ndarray, centre: np.ndarray, radius: int, c: Colour) -> None:
    """A filled circle; ``centre`` and ``radius`` in fixed-point."""
    cv2.circle(img, (int(centre[0]), int(centre[1])), radius, c, -1, AA, SHIFT)


def box(pts: np.ndarray, h: int, w: int, pad: int = 1) -> tuple[int, int, int, int]:
    """Integer pixel box (x0, y0, x1, y1) around fixed-point points, clipped to the image."""
    lo = pts.min(0) >> SHIFT
    hi = (pts.max(0) >> SHIFT) + 1
    return (
        max(int(lo[0]) - pad, 0),
        max(int(lo[1]) - pad, 0),
        min(int(hi[0]) + pad, w),
        min(int(hi[1]) + pad, h),
    )


def clip_to(img: np.ndarray, poly: np.ndarray, bx: tuple[int, int, int, int], draw) -> None:
    """Run ``draw(canvas, offset)`` on a copy of the box and keep its pixels only inside ``poly``.

    ``offset`` is the fixed-point box origin to subtract from coordinates. The mask is hard-edged;
    callers draw an outline over the border afterwards.
    """
    x0, y0, x1, y1 = bx
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    roi = img[y0:y1, x0:x1]
    tmp = roi.copy()
    off = np.array([x0 * ONE, y0 * ONE], np.int32)
    draw(tmp, off)
    mask = np.zeros(roi.shape[:2], np.uint8)
    cv2.fillPoly(mask, [poly - off], 255, cv2.LINE_8, SHIFT)
    cv2.copyTo(tmp, mask, roi)  # writes into the view


def blend_poly(img: np.ndarray, poly: np.ndarray, c: Colour, alpha: float) -> None:
    """Fill a polygon with a translucent colour (only the polygon's box is touched)."""
    h, w = img.shape[:2]
    x0, y0, x1, y1 = box(poly, h, w)
    if x1 - x0 < 1 or y1 - y0 < 1:
        return
    roi = img[y0:y1, x0:x1]
    layer = roi.copy()
    cv2.fillPoly(layer, [poly - np.array([x0 * ONE, y0 * ONE], np.int32)], c, AA, SHIFT)
    cv2.addWeighted(layer, alpha, roi, 1.0 - alpha, 0.0, dst=roi)


def background(ident: FaceIdentity, h: int, w: int) -> np.ndarray:
    """The static backdrop for one identity at one size (uint8, (h, w, 3))."""
    c0 = np.array(ident.background[0], np.float32)
    c1 = np.array(ident.background[1], np.float32)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    yy /= max(h - 1, 1)
    xx /= max(w - 1, 1)
    style = ident.background_style
    if style == "solid":
        t = np.zeros_like(xx)
    elif style == "vertical":
        t = yy
    elif style == "diagonal":
        t = 0.5 * (xx + yy)
    else:  # radial and bokeh: light behind the head, darker out to the corners
        t = np.clip(np.hypot(xx - 0.5, yy - 0.4) / 0.75, 0, 1)
    img = c0[None, None] * (1 - t[..., None]) + c1[None, None] * t[..., None]
    if style == "bokeh":
        rng = np.random.default_rng(ident.seed + 7919)
        spots = np.zeros((h, w, 3), np.float32)
        s = min(h, w)
        for _ in range(14):
            c = (float(rng.uniform(0, w)), float(rng.uniform(0, h)))
            r = float(rng.uniform(0.04, 0.14) * s)
            tone = rng.uniform(-40, 60) * np.array([1.0, 1.0, 1.0]) + rng.normal(0, 15, 3)
            cv2.circle(spots, (int(c[0] * ONE), int(c[1] * ONE)), int(r * ONE), tone.tolist(), -1, AA, SHIFT)
        spots = cv2.GaussianBlur(spots, (0, 0), max(0.02 * s, 0.6))
        img = img + 0.6 * spots
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def light_gain(ident: FaceIdentity, h: int, w: int, cx: float, cy: float, radius: float) -> np.ndarray:
    """A soft brightness map (uint8, 128 = unchanged) that brightens towards the light.

    Applied with ``cv2.multiply(frame, gain, scale=1/128)`` after everything is drawn, it gives the
    whole picture one consistent key light on top of the flat cel shading.
    """
    k = ident.light_intensity
    lx, ly = np.cos(ident.light_angle), np.sin(ident.light_angle)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    dx, dy = (xx - cx) / radius, (yy - cy) / radius
    g = 1.0 + 0.07 * k * np.clip(dx * lx + dy * ly, -1.5, 1.5)
    g -= 0.035 * (dx**2 + dy**2) / 4.0
    g = np.clip(g, 0.5, 1.5)
    return np.repeat(np.rint(g * 128)[..., None], 3, axis=2).astype(np.uint8)
