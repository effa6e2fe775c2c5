"""Live Link Face CSV takes: read, write and resample them.

Epic's Live Link Face iOS app saves each take as a CSV that Unreal's LiveLinkFaceImporter plugin turns
into a Level Sequence (MetaHuman users drag it into the Content Browser). The layout, as this module reads
and writes it:

* Header, 63 columns: ``Timecode,BlendshapeCount,`` then the 52 blendshapes in PascalCase in Live Link
  order (:data:`avzoo.arkit.LIVELINK_NAMES`, which swaps JawLeft/JawRight and MouthLeft/MouthRight
  against the canonical order), then the 9 rotations :data:`ROTATION_NAMES`. The app spells the second
  column ``BlendshapeCount``; other tools write ``BlendShapeCount``. Unreal compares both header names
  with ``FString ==``, which ignores case, so either imports.
* One row per captured frame; the count cell is 61 (52 blendshapes + 9 rotations). Unreal skips it.
* ``Timecode`` is ``HH:MM:SS:FF.fff``. ``FF`` counts frames of a 60-frame timecode (a 30-frame one for
  takes recorded at 30 fps), and ``.fff`` is the *sub-frame*: the fraction of a timecode frame at which
  ARKit captured the face, so ``FF.fff`` together is a fractional frame number (the app's
  ``FQualifiedFrameTime`` = frame number + sub-frame). Unreal's importer reads ``FF.fff`` as one float
  and places the row at ``HH*3600 + MM*60 + SS + FF.fff / rate`` seconds, with ``rate`` inferred as 60
  when any frame value in the file exceeds 30 and as 30 otherwise (``ULiveLinkFaceImporterFactory::
  InferFrameRate``; older engine versions always assumed 60). This module reads times the same way.
* Rotations are Euler angles *divided by 180 degrees* (so -1..1 spans -180..180 degrees; multiply by pi
  for radians). Unreal's ARKit face support fills them so (``ToBlendShapeMap``: ``HeadYaw =
  Rotator.Yaw / 180``, with yaw and roll negated for an unmirrored face), and the app streams and records
  the same map. They are kept in that unit here; :attr:`LiveLinkTake.rotations_degrees` converts.

Reading is strict about what is not a take and forgiving about what real captures do:

* Encoding: UTF-8 (the app's), with or without a byte-order mark. UTF-16 with a byte-order mark (what
  "Unicode text" exports of spreadsheet tools write) is decoded too; anything else that is not UTF-8 text
  (a binary file, UTF-16 without a BOM, Latin-1 with accents in it) raises a ``ValueError`` naming the
  file and the problem, never a bare ``UnicodeDecodeError`` or ``csv.Error``.
* Blendshape range: ARKit weights lie in [0, 1], but real captures overshoot a little (a range-of-motion
  take in ``shared/data/arkit-real`` reaches ``EyeLookInLeft`` = 1.053). Values within
  :data:`RANGE_TOLERANCE` (1e-3) of the range are float noise and are clipped silently; values up to
  :data:`MAX_OVERSHOOT` (0.25) outside it are clipped to [0, 1] with a :class:`BlendshapeRangeWarning`
  naming the columns, the extreme values and their lines (``out_of_range="error"`` refuses them
  instead); values further out mean the file is not 0-1 weights (percentages, degrees) and always raise a
  ``ValueError`` naming the column, line and value. Rotations are not range-checked.

Writing follows the same rules, so a written file reads back bit-identically and imports in Unreal with
the right timing. Each frame ``k`` sits at ``k / fps`` seconds after ``start_timecode``: at 60 and 30 fps
the sub-frame is always ``.000``; at 59.94 fps (taken as 60000/1001) and other rates the 60- or 30-frame
timecode carries the sub-frame, exactly as the app records a capture that is not aligned with its
timecode clock.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import numpy as np

from avzoo.arkit import ARKIT_NAMES, BLENDSHAPE_FPS, INDEX, LIVELINK_NAMES, NUM_BLENDSHAPES, canonical_name

ROTATION_NAMES: tuple[str, ...] = (
    "HeadYaw", "HeadPitch", "HeadRoll",
    "LeftEyeYaw", "LeftEyePitch", "LeftEyeRoll",
    "RightEyeYaw", "RightEyePitch", "RightEyeRoll",
)  # fmt: skip
#: The value every row of a real take has in its count column.
VALUE_COUNT = NUM_BLENDSHAPES + len(ROTATION_NAMES)
#: The 63 header names of a take as the app writes it.
LIVELINK_HEADER: tuple[str, ...] = ("Timecode", "BlendshapeCount", *LIVELINK_NAMES, *ROTATION_NAMES)
#: Frame rates that a detected rate snaps to (59.94 means 60000/1001, and so on).
STANDARD_FPS: tuple[float, ...] = (23.976, 24.0, 25.0, 29.97, 30.0, 48.0, 50.0, 59.94, 60.0)
MAX_FPS = 60.0

_TIMECODE = re.compile(r"(\d{1,2}):(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?")
_NTSC = (Fraction(24000, 1001), Fraction(30000, 1001), Fraction(60000, 1001))
_LIVELINK_TO_CANONICAL = [INDEX[canonical_name(n)] for n in LIVELINK_NAMES]
# Detected rates within this relative distance of a standard rate snap to it; 59.94 and 60 are 0.1% apart.
_SNAP_TOLERANCE = 5e-4
#: Blendshape values this close outside [0, 1] are float noise: clipped without a word.
RANGE_TOLERANCE = 1e-3
#: Blendshape values up to this far outside [0, 1] are capture overshoot: clipped with a warning (or an
#: error with ``out_of_range="error"``). Values further out are never blendshape weights: always an error.
MAX_OVERSHOOT = 0.25
_BOMS = ((b"\xef\xbb\xbf", "utf-8-sig"), (b"\xff\xfe", "utf-16"), (b"\xfe\xff", "utf-16"))


class BlendshapeRangeWarning(UserWarning):
    """Blendshape values of a take lay outside [0, 1] and were clipped."""


@dataclass
class LiveLinkTake:
    """One Live Link Face take: blendshapes in canonical order, rotations and the timing of every row."""

    blendshapes: np.ndarray  #: (T, 52) float32, canonical ARKit order
    rotations: np.ndarray  #: (T, 9) float32 in :data:`ROTATION_NAMES` order, degrees / 180
    timecodes: list[str]  #: the ``Timecode`` cell of every row, as written
    times: np.ndarray  #: (T,) float64 seconds since the first row
    fps: float  #: capture rate detected from the timecodes (a :data:`STANDARD_FPS` value when close to one)
    start_timecode: str  #: timecode of the first row
    timecode_rate: int = 60  #: frames per timecode second (``FF`` runs 0..rate-1): 60, or 30 for 30 fps takes
    rotation_names: tuple[str, ...] = field(default=ROTATION_NAMES)

    def __len__(self) -> int:
        return len(self.blendshapes)

    @property
    def rotations_degrees(self) -> np.ndarray:
        """Rotations in degrees (the file stores degrees / 180)."""
        return self.rotations * np.float32(180.0)

    def resample(self, fps: float = BLENDSHAPE_FPS) -> LiveLinkTake:
        """The take on a uniform grid ``k / fps`` seconds from its first row, by linear interpolation.

        Uses the recorded :attr:`times`, so dropped or jittered rows of a real capture land where they
        were captured. Frames after the last row are not extrapolated.
        """
        rate = _exact_rate(fps)
        n = math.floor(self.times[-1] * rate + 1e-9) + 1
        grid = _grid_times(n, rate)
        base = _timecode_base(rate)
        start = _parse_timecode(self.start_timecode)
        start_seconds = (
            Fraction(start[0] * 3600 + start[1] * 60 + start[2]) + Fraction(start[3]) / self.timecode_rate
        )
        start_thousandths = round(start_seconds * base * 1000)
        return LiveLinkTake(
            blendshapes=_interpolate(self.blendshapes, self.times, grid),
            rotations=_interpolate(self.rotations, self.times, grid),
            timecodes=_timecode_strings(n, rate, base, start_thousandths),
            times=grid,
            fps=float(fps),
            start_timecode=_format_timecode(start_thousandths, base),
            timecode_rate=base,
        )


# --- Reading --------------------------------------------------------------------------------------
def read_livelink_csv(
    path: str | Path, timecode_rate: int | None = None, out_of_range: str = "clip"
) -> LiveLinkTake:
    """Read a Live Link Face CSV take.

    Columns are found by name (any order, any case, surrounding spaces ignored), so both count-column
    spellings, PascalCase or lowerCamel blendshape names and the app's JawLeft/JawRight swap all map to the
    canonical order. CRLF line ends and a UTF-8 byte-order mark are fine, and UTF-16 files with a
    byte-order mark are decoded too. Missing rotation columns are filled with 0 (with a warning); a missing
    count column is accepted. ``timecode_rate`` fixes the frames per timecode second; by default it is
    inferred like Unreal does (60 if any ``FF.fff`` exceeds 30, else 30).

    Blendshape values outside [0, 1] (see the module docstring): within :data:`RANGE_TOLERANCE` they are
    clipped silently; up to :data:`MAX_OVERSHOOT` outside, ``out_of_range="clip"`` (the default) clips them
    with a :class:`BlendshapeRangeWarning` and ``out_of_range="error"`` raises; further out always raises.
    The returned blendshapes are always in [0, 1].

    Raises ``ValueError`` naming the file (and line, where there is one) for files that are not UTF-8 or
    BOM-marked UTF-16 text (binary files), unknown, duplicate or missing columns, rows whose cell count
    differs from the header, malformed timecodes, non-numeric or non-finite values and out-of-range
    blendshapes.
    """
    path = Path(path)
    if out_of_range not in ("clip", "error"):
        raise ValueError(f"out_of_range must be 'clip' or 'error', got {out_of_range!r}")
    header, rows = _read_rows(path)
    if header is None:
        raise ValueError(f"{path}: empty file; expected a Live Link Face header line")
    tc_col, count_col, value_cols = _map_header(header, path)
    if not rows:
        raise ValueError(f"{path}: header but no data rows")

    timecodes: list[str] = []
    frames: list[tuple[int, float]] = []  # (whole seconds, frame value FF.fff)
    values = np.empty((len(rows), len(value_cols)), dtype=np.float64)
    for r, (line, cells) in enumerate(rows):
        where = f"{path}, line {line}"
        if len(cells) != len(header):
            raise ValueError(f"{where}: {len(cells)} cells, but the header has {len(header)} columns")
        try:
            h, m, s, ff = _parse_timecode(cells[tc_col])
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
        timecodes.append(cells[tc_col])
        frames.append((h * 3600 + m * 60 + s, ff))
        if count_col is not None and not re.fullmatch(r"\d+", cells[count_col]):
            raise ValueError(
                f"{where}: count cell {cells[count_col]!r} is not a whole number (real takes write 61)"
            )
        for j, col in enumerate(value_cols):
            try:
                values[r, j] = float(cells[col]) if col is not None else 0.0
            except ValueError:
                raise ValueError(
                    f"{where}: column {header[col]!r} holds {cells[col]!r}, not a number"
                ) from None
        if not np.isfinite(values[r]).all():
            bad = value_cols[int(np.flatnonzero(~np.isfinite(values[r]))[0])]
            raise ValueError(f"{where}: column {header[bad]!r} holds {cells[bad]!r}; values must be finite")

    max_ff = max(ff for _, ff in frames)
    if timecode_rate is None:
        timecode_rate = 60 if max_ff > 30 else 30
    elif not (isinstance(timecode_rate, int) and 0 < timecode_rate <= 60):
        raise ValueError(f"timecode_rate must be a whole number of frames in 1..60, got {timecode_rate!r}")
    for (line, _), (_, ff) in zip(rows, frames, strict=True):
        if ff >= timecode_rate:
            raise ValueError(
                f"{path}, line {line}: frame {ff:g} is not below the timecode rate {timecode_rate}"
            )

    seconds = np.array([s + ff / timecode_rate for s, ff in frames], dtype=np.float64)
    # Timecode wraps to 00:00:00:00 at midnight; a backwards jump of over 12 h is that wrap.
    seconds += 86400.0 * np.concatenate([[0], np.cumsum(np.diff(seconds) < -43200)])
    times = seconds - seconds[0]
    if (np.diff(times) < 0).any():
        k = int(np.flatnonzero(np.diff(times) < 0)[0]) + 1
        warnings.warn(
            f"{path}, line {rows[k][0]}: timecode goes backwards; rows are kept in file order", stacklevel=2
        )

    _check_range(values[:, :NUM_BLENDSHAPES], value_cols, header, rows, path, out_of_range)
    values[:, :NUM_BLENDSHAPES] = np.clip(values[:, :NUM_BLENDSHAPES], 0.0, 1.0)
    values32 = values.astype(np.float32)
    return LiveLinkTake(
        blendshapes=np.ascontiguousarray(values32[:, :NUM_BLENDSHAPES]),
        rotations=np.ascontiguousarray(values32[:, NUM_BLENDSHAPES:]),
        timecodes=timecodes,
        times=times,
        fps=_detect_fps(times, timecode_rate),
        start_timecode=timecodes[0],
        timecode_rate=timecode_rate,
    )


def _read_rows(path: Path) -> tuple[list[str] | None, list[tuple[int, list[str]]]]:
    """The stripped header cells and the (line number, stripped cells) of every non-blank row."""
    try:
        with path.open("rb") as f:
            start = f.read(4)
    except OSError as e:
        raise ValueError(f"{path}: cannot read the file ({e.strerror or e})") from None
    encoding = next((enc for bom, enc in _BOMS if start.startswith(bom)), "utf-8")
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    line = 0
    try:
        with path.open(newline="", encoding=encoding) as f:
            reader = csv.reader(f)
            for cells in reader:
                line = reader.line_num
                cells = [c.strip() for c in cells]
                if any("\x00" in c for c in cells):
                    raise ValueError(
                        f"{path}, line {line}: contains NUL characters; this is a binary file or UTF-16 "
                        "without a byte-order mark, not a Live Link Face CSV (UTF-8 text)"
                    )
                if not any(cells):
                    continue  # blank line, e.g. a trailing one
                if header is None:
                    header = cells
                else:
                    rows.append((line, cells))
    except UnicodeDecodeError as e:
        what = "UTF-16 text" if encoding == "utf-16" else "UTF-8 text"
        raise ValueError(
            f"{path}: not {what} (byte 0x{e.object[e.start]:02x} cannot be decoded); a Live Link Face CSV is "
            "UTF-8 text (UTF-16 is read when it starts with a byte-order mark). Is this a binary file?"
        ) from None
    except csv.Error as e:
        raise ValueError(
            f"{path}, line {line + 1}: not a readable CSV ({e}); is this a binary file?"
        ) from None
    return header, rows


def _check_range(
    values: np.ndarray,
    value_cols: list[int | None],
    header: list[str],
    rows: list[tuple[int, list[str]]],
    path: Path,
    out_of_range: str,
) -> None:
    """Raise for blendshape values far outside [0, 1] (or any beyond noise, when strict); warn for the rest."""
    excess = np.maximum(values - 1.0, -values)  # > 0 outside [0, 1]
    if not (excess > RANGE_TOLERANCE).any():
        return
    limit = MAX_OVERSHOOT if out_of_range == "clip" else RANGE_TOLERANCE
    if (excess > limit).any():
        r, j = np.unravel_index(int(np.argmax(excess)), excess.shape)
        col = value_cols[j]
        allowed = (
            f"[{-MAX_OVERSHOOT:g}, {1 + MAX_OVERSHOOT:g}] is clipped to [0, 1] with a warning, further out is "
            "not a 0-1 blendshape weight (percentages? degrees?)"
            if out_of_range == "clip"
            else "out_of_range='error' accepts only [0, 1] (pass out_of_range='clip' to clip overshoot)"
        )
        raise ValueError(
            f"{path}, line {rows[r][0]}: column {header[col]!r} holds {rows[r][1][col]}, outside the blendshape "
            f"range [0, 1]; {allowed}"
        )
    parts = []
    for j in np.flatnonzero((excess > RANGE_TOLERANCE).any(axis=0)):
        r = int(np.argmax(excess[:, j]))
        col = value_cols[j]
        n = int((excess[:, j] > RANGE_TOLERANCE).sum())
        parts.append(f"{header[col]} {rows[r][1][col]} (line {rows[r][0]}; {n} row(s))")
    warnings.warn(
        f"{path}: blendshape values outside [0, 1] were clipped to it: " + ", ".join(parts),
        BlendshapeRangeWarning,
        stacklevel=3,
    )


def _map_header(header: list[str], path: Path) -> tuple[int, int | None, list[int | None]]:
    """Header -> (timecode column, count column or None, 61 value columns: 52 canonical then 9 rotations)."""
    where = f"{path}, line 1"
    special = {"timecode": "Timecode", "blendshapecount": "BlendshapeCount"}
    special |= {n.lower(): n for n in ROTATION_NAMES}
    found: dict[str, int] = {}  # canonical column name -> column
    unknown = []
    for col, name in enumerate(header):
        try:
            slot = special.get(name.lower()) or canonical_name(name)
        except ValueError:
            unknown.append(name)
            continue
        if slot in found:
            raise ValueError(f"{where}: column {slot!r} appears twice")
        found[slot] = col
    if unknown:
        raise ValueError(
            f"{where}: unknown column(s) {unknown}; expected Timecode, BlendshapeCount, the 52 ARKit "
            f"blendshapes and {', '.join(ROTATION_NAMES)}"
        )
    if "Timecode" not in found:
        raise ValueError(f"{where}: no 'Timecode' column")
    missing = [n for n in LIVELINK_NAMES if canonical_name(n) not in found]
    if missing:
        raise ValueError(f"{where}: missing blendshape column(s) {missing}")
    absent = [n for n in ROTATION_NAMES if n not in found]
    if absent:
        warnings.warn(f"{path}: no rotation column(s) {absent}; they read as 0", stacklevel=3)
    value_cols: list[int | None] = [found[n] for n in ARKIT_NAMES]
    value_cols += [found.get(n) for n in ROTATION_NAMES]
    return found["Timecode"], found.get("BlendshapeCount"), value_cols


def _parse_timecode(text: str) -> tuple[int, int, int, float]:
    """``HH:MM:SS:FF.fff`` -> (hours, minutes, seconds, frame value FF.fff)."""
    match = _TIMECODE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"timecode {text!r} is not of the form HH:MM:SS:FF.fff")
    h, m, s, ff = (int(g) for g in match.groups()[:4])
    if h > 23 or m > 59 or s > 59 or ff > 59:
        raise ValueError(f"timecode {text!r} is out of range (HH 0-23, MM and SS 0-59, FF 0-59)")
    sub = match.group(5)
    return h, m, s, ff + (float("0." + sub) if sub else 0.0)


def _detect_fps(times: np.ndarray, timecode_rate: int) -> float:
    """Capture rate from row times, robust to dropped rows; snapped to a standard rate when close."""
    steps = np.diff(times)
    span = times[-1] - times[0] if len(times) else 0.0
    if not (steps > 0).any() or span <= 0:
        return float(timecode_rate)
    typical = float(np.median(steps[steps > 0]))
    estimate = float(np.rint(steps / typical).sum() / span)  # a dropped row counts as the frames it spans
    distance = {c: abs(estimate - float(_exact_rate(c))) / c for c in STANDARD_FPS}
    best = min(distance, key=distance.get)
    return best if distance[best] <= _SNAP_TOLERANCE else round(estimate, 3)


# --- Writing --------------------------------------------------------------------------------------
def write_livelink_csv(
    path: str | Path,
    blendshapes: np.ndarray,
    fps: float = 60,
    rotations: np.ndarray | None = None,
    start_timecode: str = "00:00:00:00.000",
    count_column: str = "BlendshapeCount",
) -> Path:
    """Write (T, 52) canonical blendshapes as a Live Link Face CSV take that Unreal imports.

    ``fps`` in (0, 60]; rates above 30 get a 60-frame timecode, others a 30-frame one (the two Unreal
    infers). ``rotations`` (T, 9) are in the file's unit, degrees / 180, order :data:`ROTATION_NAMES`;
    zeros when omitted. ``start_timecode`` is read in the timecode the rate gets. Values are written as
    the shortest decimal that reads back as the same float32, so :func:`read_livelink_csv` returns them
    bit-identically.
    """
    x = _check_frames(blendshapes, NUM_BLENDSHAPES, "blendshapes")
    lo, hi = float(x.min(initial=0.0)), float(x.max(initial=0.0))
    if lo < 0.0 or hi > 1.0:
        raise ValueError(
            f"blendshape values must lie in [0, 1], got {lo:g}..{hi:g}; clip them first (np.clip)"
        )
    if rotations is None:
        rot = np.zeros((len(x), len(ROTATION_NAMES)), dtype=np.float32)
    else:
        rot = _check_frames(rotations, len(ROTATION_NAMES), "rotations")
        if len(rot) != len(x):
            raise ValueError(f"rotations have {len(rot)} frames but blendshapes have {len(x)}")
    if count_column.lower() != "blendshapecount":
        raise ValueError(f"count_column must be 'BlendshapeCount' or 'BlendShapeCount', got {count_column!r}")

    timecodes = livelink_timecodes(len(x), fps, start_timecode)
    if _timecode_base(_exact_rate(fps)) == 60 and max(_parse_timecode(t)[3] for t in timecodes) <= 30:
        warnings.warn(
            "no frame number in this take exceeds 30, so Unreal's LiveLinkFaceImporter will play it as "
            "30 fps; write at least 31 frames or start at a timecode with FF above 30",
            stacklevel=2,
        )
    values = np.concatenate([x[:, _LIVELINK_TO_CANONICAL], rot], axis=1)
    texts = np.array(float32_text(values), dtype=object).reshape(values.shape)
    lines = [",".join(("Timecode", count_column, *LIVELINK_HEADER[2:]))]
    count = str(VALUE_COUNT)
    lines += [f"{tc},{count},{','.join(row)}" for tc, row in zip(timecodes, texts.tolist(), strict=True)]
    path = Path(path)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8", newline="")
    return path


def livelink_timecodes(n_frames: int, fps: float = 60, start_timecode: str = "00:00:00:00.000") -> list[str]:
    """Timecodes of ``n_frames`` frames at ``fps`` from ``start_timecode``: frame k at k / fps seconds.

    The timecode has 60 frames a second for fps above 30 and 30 otherwise; ``.fff`` carries the sub-frame
    when frames do not fall on timecode frames (59.94 fps, 25 fps, ...). Wraps at 24 h.
    """
    rate = _exact_rate(fps)
    base = _timecode_base(rate)
    try:
        h, m, s, ff = _parse_timecode(start_timecode)
    except ValueError as e:
        raise ValueError(f"start_timecode: {e}") from None
    if ff >= base:
        raise ValueError(
            f"start_timecode {start_timecode!r}: frame {ff:g} does not exist in the {base}-frame timecode "
            f"used at {fps:g} fps (FF runs 0-{base - 1})"
        )
    start = ((h * 3600 + m * 60 + s) * base) * 1000 + round(ff * 1000)
    return _timecode_strings(n_frames, rate, base, start)


def float32_text(values: np.ndarray) -> list[str]:
    """Shortest positional decimals that read back (via float64, as ``float()`` and JSON do) as the same float32."""
    flat = np.ascontiguousarray(values, dtype=np.float32).ravel()
    texts = [np.format_float_positional(v, unique=True, trim="0") for v in flat]
    back = np.array(texts, dtype=np.float64).astype(np.float32)
    # Decimal -> float64 -> float32 rounds twice; where that lands elsewhere, write the exact value instead.
    for i in np.flatnonzero(back.view(np.uint32) != flat.view(np.uint32)):
        texts[i] = format(Decimal(float(flat[i])), "f")
    return texts


def _check_frames(values: np.ndarray, width: int, what: str) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 2 or a.shape[1] != width or len(a) == 0:
        raise ValueError(f"{what} must have shape (T, {width}) with T >= 1, got {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
        raise ValueError(f"{what} must be finite numbers")
    return a.astype(np.float32, copy=False)


def _timecode_strings(n_frames: int, rate: Fraction, base: int, start_thousandths: int) -> list[str]:
    scale = base * 1000 * rate.denominator  # frame k sits k * scale / rate.numerator thousandths in
    num = rate.numerator
    return [
        _format_timecode(start_thousandths + (2 * k * scale + num) // (2 * num), base)
        for k in range(n_frames)
    ]


def _format_timecode(thousandths: int, base: int) -> str:
    thousandths %= 24 * 3600 * base * 1000
    frames, sub = divmod(thousandths, 1000)
    seconds, ff = divmod(frames, base)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h:02d}:{m:02d}:{s:02d}:{ff:02d}.{sub:03d}"


# --- Rates and resampling -------------------------------------------------------------------------
def _exact_rate(fps: float) -> Fraction:
    """fps as an exact fraction; 59.94, 29.97 and 23.976 mean 60000/1001, 30000/1001 and 24000/1001."""
    if isinstance(fps, bool) or not isinstance(fps, (int, float, np.integer, np.floating)):
        raise ValueError(f"fps must be a number in (0, {MAX_FPS:g}], got {fps!r}")
    fps = float(fps)
    if not (math.isfinite(fps) and 0 < fps <= MAX_FPS):
        raise ValueError(f"fps must be in (0, {MAX_FPS:g}], got {fps!r}")
    for exact in _NTSC:
        if abs(fps - float(exact)) < 1e-3:
            return exact
    return Fraction(fps).limit_denominator(100_000)


def _timecode_base(rate: Fraction) -> int:
    return 60 if rate > 30 else 30


def _grid_times(n: int, rate: Fraction) -> np.ndarray:
    # One correctly rounded division per frame, so equal rational times give equal floats across rates.
    return (np.arange(n, dtype=np.float64) * rate.denominator) / rate.numerator


def _interpolate(x: np.ndarray, src_times: np.ndarray, dst_times: np.ndarray) -> np.ndarray:
    """Linear interpolation of rows of ``x`` (taken at ``src_times``) at ``dst_times``; exact on source times."""
    last = len(src_times) - 1
    i0 = np.clip(np.searchsorted(src_times, dst_times, side="right") - 1, 0, last)
    i1 = np.minimum(i0 + 1, last)
    gap = src_times[i1] - src_times[i0]
    w = np.where(gap > 0, (dst_times - src_times[i0]) / np.where(gap > 0, gap, 1.0), 0.0)
    w = w.reshape((-1,) + (1,) * (x.ndim - 1))
    out = x[i0].astype(np.float64) * (1.0 - w) + x[i1].astype(np.float64) * w
    return out.astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)


def resample_blendshapes(x: np.ndarray, src_fps: float, dst_fps: float) -> np.ndarray:
    """Resample (T, C) (or (T,)) frames from ``src_fps`` to ``dst_fps`` by linear interpolation in time.

    Grid convention: frame k is at k / fps seconds, for both rates; output frames run from 0 up to the
    last source frame's time (no extrapolation), so T frames at 30 fps give 2T - 1 at 60 fps and back T.
    Output frames that coincide with source frames copy them exactly, so 30 -> 60 -> 30 (or any rate to
    an integer multiple and back) returns the input bit-for-bit. 59.94, 29.97 and 23.976 mean the NTSC
    rates 60000/1001 etc. Rates in (0, 60].
    """
    a = np.asarray(x)
    if a.ndim not in (1, 2) or len(a) == 0:
        raise ValueError(f"x must have shape (T,) or (T, C) with T >= 1, got {a.shape}")
    if not np.issubdtype(a.dtype, np.number) or not np.isfinite(a).all():
        raise ValueError("x must be finite numbers")
    src, dst = _exact_rate(src_fps), _exact_rate(dst_fps)
    n = math.floor((len(a) - 1) / src * dst) + 1
    return _interpolate(a, _grid_times(len(a), src), _grid_times(n, dst))
