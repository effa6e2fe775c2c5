"""Speech-separation mixtures on disk as a dataset in the shared mixture schema.

Two layouts are read. (a) Libri2Mix / LRS2-2Mix style: one folder per signal, identical file names::

    test/
      mix/ (or mix_clean/, mix_both/, mix_single/, mixture/)
        0001_0002.wav
      s1/0001_0002.wav
      s2/0001_0002.wav
      s3/...                     as many talkers as the set has
      noise/0001_0002.wav        optional (Libri2Mix): counted in the sum check of mix_both

``root`` may also be a folder above exactly one such set (``Libri2Mix/wav16k/max/test``); pass the
set itself when there are several. Libri2Mix's ``mix_single`` holds s1 + noise only, so it gets s1.

(b) One folder per mixture (e.g. ``shared/data/real-mixtures``), at any depth::

    real-mixtures/
      sample1/mix.wav s1.wav s2.wav
      sample2/mix.wav s1.wav s2.wav

Rows keep file paths (``mixture``, ``s1`` .. ``s{max_sources}``); ``datasets`` decodes them lazily to
16 kHz mono (8 kHz sets are upsampled: evaluate those at 8 kHz by casting the columns). With
``check=True`` every file is decoded once at load time to check that the references and the mixture
have the same length (a mismatch is an error) and that the references sum to the mixture; real sets
add noise or rescale, so a sum that misses only warns: when the mixture-to-error ratio falls below
``sum_tolerance_db`` (10 dB by default: that catches wrong or missing references, while the TIGER
samples in ``shared/data/real-mixtures``, whose mixes match s1 + s2 to 15-25 dB, pass).
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
from datasets import Dataset

from avzoo.data._common import AUDIO_EXTENSIONS, build_dataset, require_dir, visible, warn_skipped
from avzoo.data.schema import SAMPLING_RATE, mixture_features
from avzoo.io.audio import AudioClippingWarning, load_audio

__all__ = ["MIXTURE_DIR_NAMES", "load_mixture_folder"]

#: Names of the mixture folder in layout (a), in order of preference (clean before noisy).
MIXTURE_DIR_NAMES = ("mix", "mix_clean", "mixture", "mix_both", "mix_single")
_MIX_FILE_STEMS = ("mix", "mixture")
_SOURCE = re.compile(r"s(\d+)")


def _source_dirs(folder: Path) -> dict[int, Path]:
    found = {int(m[1]): p for p in folder.iterdir() if p.is_dir() and (m := _SOURCE.fullmatch(p.name))}
    return dict(sorted(found.items()))


def _contiguous(numbers: list[int], where: Path) -> None:
    if numbers != list(range(1, len(numbers) + 1)):
        raise ValueError(f"{where}: references must be numbered s1, s2, ... without gaps; found s{numbers}")


def _is_set(d: Path) -> bool:
    return (d / "s1").is_dir() and any((d / n).is_dir() for n in MIXTURE_DIR_NAMES)


def _layout_a_sets(root: Path) -> list[Path]:
    """Folders at or below ``root`` with a mixture folder and an ``s1`` folder (not looking inside sets)."""
    sets = []
    for top, dirs, _ in os.walk(root):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        if _is_set(Path(top)):
            sets.append(Path(top))
            dirs.clear()
    return sets


def _audio_files(folder: Path) -> dict[str, Path]:
    return {
        p.stem: p for p in visible(folder.iterdir()) if p.is_file() and p.suffix.lower() in AUDIO_EXTENSIONS
    }


def _mixtures_layout_a(root: Path, mixture: str | None) -> list[tuple[str, Path, list[Path], Path | None]]:
    names = [n for n in MIXTURE_DIR_NAMES if (root / n).is_dir()]
    if mixture is None:
        mixture = names[0]
    elif mixture not in names:
        raise ValueError(f"{root} has no {mixture!r} folder; mixture folders there: {names}")
    sources = _source_dirs(root)
    _contiguous(list(sources), root)
    if mixture == "mix_single":
        sources = {1: sources[1]}
    noise = root / "noise" if mixture == "mix_both" and (root / "noise").is_dir() else None
    mixes = _audio_files(root / mixture)
    if not mixes:
        raise ValueError(f"no audio files in {root / mixture}")
    per_source = {k: _audio_files(d) for k, d in sources.items()}
    noises = _audio_files(noise) if noise else {}
    out = []
    for stem, mix_path in sorted(mixes.items()):
        missing = [f"s{k}" for k, files in per_source.items() if stem not in files]
        if missing:
            raise ValueError(f"{mix_path.name} in {root / mixture} has no file of that name in {missing}")
        refs = [per_source[k][stem] for k in per_source]
        out.append((stem, mix_path, refs, noises.get(stem)))
    return out


def _mixtures_layout_b(root: Path) -> list[tuple[str, Path, list[Path], None]]:
    out = []
    for folder in [root, *(p for p in visible(root.rglob("*")) if p.is_dir())]:
        files = _audio_files(folder)
        mix = next((files[s] for s in _MIX_FILE_STEMS if s in files), None)
        if mix is None:
            continue
        numbers = sorted(int(m[1]) for s in files if (m := _SOURCE.fullmatch(s)))
        if not numbers:
            raise ValueError(f"{mix} has no references beside it; expected s1.wav, s2.wav, ... in {folder}")
        _contiguous(numbers, folder)
        name = folder.relative_to(root).as_posix() if folder != root else root.name
        out.append((name, mix, [files[f"s{k}"] for k in numbers], None))
    return out


def _check(name: str, mix_path: Path, refs: list[Path], noise: Path | None) -> tuple[str | None, float]:
    """(length problem or None, SNR in dB of the mixture against the sum of its parts)."""
    paths = [mix_path, *refs, *([noise] if noise is not None else [])]
    with warnings.catch_warnings():
        warnings.simplefilter(
            "ignore", AudioClippingWarning
        )  # the set is what it is; only the sum matters here
        read = [load_audio(p, SAMPLING_RATE, allow_silence=True, max_clipped_fraction=1.0) for p in paths]
    if len({len(x) for x in read}) > 1:
        sizes = ", ".join(f"{p.parent.name}/{p.name}: {len(x)}" for p, x in zip(paths, read, strict=True))
        return f"{name}: files differ in length ({sizes} samples at 16 kHz)", 0.0
    mix, parts = read[0].astype(np.float64), np.sum(read[1:], axis=0, dtype=np.float64)
    error = float(np.sum((mix - parts) ** 2))
    snr = float("inf") if error == 0 else 10 * np.log10(max(float(np.sum(mix**2)), 1e-20) / error)
    return None, snr


def load_mixture_folder(
    root: str | Path,
    *,
    mixture: str | None = None,
    max_sources: int = 6,
    source: str | None = None,
    check: bool = True,
    sum_tolerance_db: float = 10.0,
    strict: bool = True,
) -> Dataset:
    """Load separation mixtures from either layout of the module doc as :func:`mixture_features` rows.

    Args:
        root: the set folder (layout a), or a folder of per-mixture folders (layout b).
        mixture: layout (a) only: which mixture folder to use (default: the first of
            :data:`MIXTURE_DIR_NAMES` present).
        max_sources: width of the schema (``s1`` .. ``s{max_sources}``); more talkers is an error.
        source: the ``source`` column; default the name of ``root``.
        check: decode every file once to check lengths and the sum (see the module doc).
        sum_tolerance_db: warn when the energy ratio of the mixture to (mixture - sum of references
            [+ noise]) is below this many dB.
        strict: a mixture whose files differ in length raises ValueError; ``strict=False`` skips it
            with a warning.

    Rows are sorted by mixture name. Raises ValueError for a missing folder, no mixtures, references
    missing or not numbered s1, s2, ..., and several candidate sets below ``root``.
    """
    if isinstance(max_sources, bool) or not isinstance(max_sources, int) or max_sources < 1:
        raise ValueError(f"max_sources must be a positive integer, got {max_sources!r}")
    root = require_dir(root, "mixture folder")
    sets = _layout_a_sets(root)
    if len(sets) > 1:
        listed = ", ".join(str(s.relative_to(root)) for s in sets[:8])
        raise ValueError(f"{root} holds {len(sets)} mixture sets ({listed}); pass one of them as root")
    if sets:
        items = _mixtures_layout_a(sets[0], mixture)
    else:
        if mixture is not None:
            raise ValueError(
                f"mixture={mixture!r} applies to the mix/ s1/ s2/ layout, which {root} does not have"
            )
        items = _mixtures_layout_b(root)
    if not items:
        raise ValueError(
            f"no mixtures under {root}: expected mix/ s1/ s2/ folders with identical file names, or "
            "folders holding mix.wav, s1.wav, s2.wav, ..."
        )
    if too_many := [name for name, _, refs, _ in items if len(refs) > max_sources]:
        raise ValueError(f"mixture(s) {too_many[:5]} have more than max_sources={max_sources} references")

    features = mixture_features(max_sources)
    rows, bad_length, bad_sum = [], [], []
    for name, mix_path, refs, noise in items:
        if check:
            problem, snr = _check(name, mix_path, refs, noise)
            if problem is not None:
                if strict:
                    raise ValueError(problem + "; pass strict=False to skip such mixtures")
                bad_length.append(problem)
                continue
            if snr < sum_tolerance_db:
                bad_sum.append(f"{name} ({snr:.1f} dB)")
        row = {
            "id": name,
            "mixture": {"path": str(mix_path.resolve())},
            "num_sources": len(refs),
            "source": source or root.name,
        }
        row.update({f"s{k}": {"path": str(p.resolve())} for k, p in enumerate(refs, 1)})
        rows.append(row)
    warn_skipped("mixtures skipped because their files differ in length", bad_length, len(items))
    if bad_sum:
        warnings.warn(
            f"{len(bad_sum)} of {len(items)} mixtures match the sum of their references to less than "
            f"{sum_tolerance_db:g} dB (mixture-to-error ratio; noise or rescaling in the set, or wrong "
            f"references?): {', '.join(bad_sum[:5])}",
            stacklevel=2,
        )
    return build_dataset(rows, features)
