"""Speech-separation scores: SI-SNR(i), BSS-eval SDR(i) and permutation-invariant matching.

SI-SNR
    Scale-invariant SNR (Le Roux et al. 2019, "SDR - half-baked or well done?"; as used by
    Conv-TasNet): both signals have their mean removed, the estimate is projected on the
    reference, ``SI-SNR = 10 log10(|proj|^2 / |estimate - proj|^2)``. A tiny floor relative to
    the estimate's energy (:data:`EPS`) keeps a perfect estimate finite, near 150 dB.

SDR
    BSS-eval SDR (Vincent et al. 2006) over the whole signal, as ``mir_eval.separation.
    bss_eval_sources`` (BSS Eval v3) computes it: the estimate is projected on the span of the
    reference delayed by 0..``filter_length``-1 samples (a 512-tap distortion filter), and
    ``SDR = 10 log10(|proj|^2 / |estimate - proj|^2)``. Unlike SI-SNR it forgives any short
    linear filtering of the reference (a delay, an EQ), which is why it reads higher. No
    framing (museval's BSS Eval v4 median of 1 s windows is a different number).

Improvements
    ``SI-SNRi = SI-SNR(estimate, reference) - SI-SNR(mixture, reference)``, likewise ``SDRi``.

Permutation
    The estimates are matched to the references by maximising the summed SI-SNR: exhaustively
    over all permutations for up to :data:`EXHAUSTIVE_MAX` sources, by the Hungarian algorithm
    (``scipy.optimize.linear_sum_assignment``) on the pairwise SI-SNR matrix beyond that. Both
    find the same optimum. SDR is reported for the SI-SNR permutation. ``permutation[i]`` is the
    index of the estimate matched to reference ``i``.

Input rules
    Signals are (sources, samples) arrays (a 1-D array is one source). Estimates and references
    must have the same number of sources. Lengths must match unless ``trim=True``, which crops
    estimates, references and mixture to the shortest. A silent signal (RMS below
    :data:`SILENCE_RMS` after removing its mean) has no defined SI-SNR and raises ``ValueError``,
    for references, estimates and mixtures alike.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any

import numpy as np
import scipy.linalg
from scipy.optimize import linear_sum_assignment

#: Relative energy floor keeping scores finite for perfect estimates (caps them near 150 dB).
EPS = 1e-15
#: RMS (after mean removal) below which a signal counts as silent.
SILENCE_RMS = 1e-8
#: Largest source count matched by trying every permutation; beyond it, Hungarian matching.
EXHAUSTIVE_MAX = 3
#: BSS-eval distortion filter length in samples (mir_eval's default).
DEFAULT_FILTER_LENGTH = 512


def _as_sources(x: Any, what: str) -> np.ndarray:
    try:
        a = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{what} is not a numeric (sources, samples) array: {e}") from None
    if a.ndim == 1:
        a = a[None]
    if a.ndim != 2 or a.shape[0] == 0 or a.shape[1] == 0:
        raise ValueError(f"{what} must be a non-empty (sources, samples) array, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError(f"{what} contains NaN or infinite values")
    return a


def _check_not_silent(centered: np.ndarray, what: str) -> None:
    rms = np.sqrt((centered**2).mean(axis=-1))
    silent = np.flatnonzero(rms < SILENCE_RMS)
    if silent.size:
        raise ValueError(
            f"{what} source(s) {silent.tolist()} are silent (RMS < {SILENCE_RMS:g} after removing the mean); "
            "SI-SNR and SDR are undefined for silent signals"
        )


def pairwise_si_snr(estimates: Any, references: Any) -> np.ndarray:
    """SI-SNR (dB) of every estimate against every reference: ``out[i, j]`` scores estimate j on reference i."""
    est = _as_sources(estimates, "estimates")
    ref = _as_sources(references, "references")
    if est.shape[1] != ref.shape[1]:
        raise ValueError(f"estimates have {est.shape[1]} samples but references {ref.shape[1]}")
    est = est - est.mean(axis=1, keepdims=True)
    ref = ref - ref.mean(axis=1, keepdims=True)
    _check_not_silent(ref, "reference")
    _check_not_silent(est, "estimate")
    dot = ref @ est.T  # (S_ref, S_est)
    ref_energy = (ref**2).sum(axis=1)[:, None]
    est_energy = (est**2).sum(axis=1)[None, :]
    target = dot**2 / ref_energy  # energy of the projection on the reference
    noise = np.maximum(est_energy - target, 0.0)  # Pythagoras: the residual is orthogonal
    floor = EPS * est_energy
    return 10.0 * np.log10((target + floor) / (noise + floor))


def si_snr(estimate: Any, reference: Any) -> np.ndarray:
    """SI-SNR (dB) of each estimate against the reference in the same row: (S, N) x (S, N) -> (S,)."""
    est = _as_sources(estimate, "estimate")
    ref = _as_sources(reference, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"estimate shape {est.shape} differs from reference shape {ref.shape}")
    return np.array([pairwise_si_snr(e, r)[0, 0] for e, r in zip(est, ref, strict=True)])


def sdr(estimate: Any, reference: Any, filter_length: int = DEFAULT_FILTER_LENGTH) -> np.ndarray:
    """BSS-eval SDR (dB) of each estimate against the reference in the same row: (S, N) x (S, N) -> (S,)."""
    est = _as_sources(estimate, "estimate")
    ref = _as_sources(reference, "reference")
    if est.shape != ref.shape:
        raise ValueError(f"estimate shape {est.shape} differs from reference shape {ref.shape}")
    if not 1 <= filter_length <= est.shape[1]:
        raise ValueError(
            f"filter_length must lie in [1, {est.shape[1]}] (the signal length), got {filter_length}"
        )
    _check_not_silent(ref - ref.mean(axis=1, keepdims=True), "reference")
    _check_not_silent(est - est.mean(axis=1, keepdims=True), "estimate")
    n = est.shape[1]
    n_fft = 1 << int(np.ceil(np.log2(2 * n - 1)))  # linear, not circular, correlation
    out = np.empty(len(est))
    for k, (e, r) in enumerate(zip(est, ref, strict=True)):
        e = e / np.linalg.norm(e)
        r = r / np.linalg.norm(r)
        R = np.fft.rfft(r, n_fft)
        E = np.fft.rfft(e, n_fft)
        autocorr = np.fft.irfft(np.abs(R) ** 2, n_fft)[:filter_length]
        crosscorr = np.fft.irfft(np.conj(R) * E, n_fft)[:filter_length]
        gram = scipy.linalg.toeplitz(autocorr)
        try:
            taps = np.linalg.solve(gram, crosscorr)
        except (
            np.linalg.LinAlgError
        ):  # singular Gram matrix (e.g. a pure tone): least squares, as mir_eval does
            taps = np.linalg.lstsq(gram, crosscorr, rcond=None)[0]
        # With unit-norm signals the projection's energy is crosscorr . taps and the residual's is 1 - that.
        coherence = float(np.clip(crosscorr @ taps, 0.0, 1.0))
        out[k] = 10.0 * np.log10((coherence + EPS) / (1.0 - coherence + EPS))
    return out


def match_sources(scores: Any, method: str = "auto") -> tuple[int, ...]:
    """Permutation maximising the summed ``scores[i, perm[i]]`` (reference i <- estimate perm[i]).

    ``method``: ``"exhaustive"`` (all permutations, up to 8 sources), ``"hungarian"``, or
    ``"auto"`` (exhaustive up to :data:`EXHAUSTIVE_MAX` sources, Hungarian beyond).
    """
    scores = np.asarray(scores, dtype=np.float64)
    if scores.ndim != 2 or scores.shape[0] != scores.shape[1] or scores.shape[0] == 0:
        raise ValueError(
            f"scores must be a non-empty square (references, estimates) matrix, got {scores.shape}"
        )
    if not np.isfinite(scores).all():
        raise ValueError("scores contain NaN or infinite values")
    n = scores.shape[0]
    if method == "auto":
        method = "exhaustive" if n <= EXHAUSTIVE_MAX else "hungarian"
    rows = np.arange(n)
    if method == "exhaustive":
        if n > 8:
            raise ValueError(f"exhaustive matching is limited to 8 sources, got {n}; use method='hungarian'")
        return max(itertools.permutations(range(n)), key=lambda p: scores[rows, list(p)].sum())
    if method == "hungarian":
        r, c = linear_sum_assignment(scores, maximize=True)
        return tuple(int(j) for j in c[np.argsort(r)])
    raise ValueError(f"unknown method {method!r}; use 'auto', 'exhaustive' or 'hungarian'")


def _crop(est: np.ndarray, ref: np.ndarray, mix: np.ndarray | None, trim: bool) -> tuple:
    lengths = {"estimates": est.shape[1], "references": ref.shape[1]}
    if mix is not None:
        lengths["mixture"] = mix.shape[1]
    if len(set(lengths.values())) > 1:
        if not trim:
            told = ", ".join(f"{k} {v}" for k, v in lengths.items())
            raise ValueError(f"lengths differ ({told} samples); pass trim=True to crop to the shortest")
        n = min(lengths.values())
        est, ref = est[:, :n], ref[:, :n]
        mix = mix[:, :n] if mix is not None else None
    return est, ref, mix


def separation_scores(
    estimates: Any,
    references: Any,
    mixture: Any = None,
    *,
    trim: bool = False,
    filter_length: int = DEFAULT_FILTER_LENGTH,
    method: str = "auto",
) -> dict[str, Any]:
    """Scores of one separated example (see the module docstring).

    Returns ``permutation`` and per-reference lists ``si_snr``, ``sdr`` (and ``si_snri``,
    ``sdri`` when ``mixture`` is given), in reference order.
    """
    est = _as_sources(estimates, "estimates")
    ref = _as_sources(references, "references")
    if est.shape[0] != ref.shape[0]:
        raise ValueError(
            f"got {est.shape[0]} estimated sources but {ref.shape[0]} references; they must match"
        )
    mix = None
    if mixture is not None:
        mix = _as_sources(mixture, "mixture")
        if mix.shape[0] != 1:
            raise ValueError(f"mixture must be one channel (samples,), got shape {mix.shape}")
    est, ref, mix = _crop(est, ref, mix, trim)

    pairwise = pairwise_si_snr(est, ref)
    perm = match_sources(pairwise, method)
    matched = est[list(perm)]
    scores = pairwise[np.arange(len(perm)), list(perm)]
    sdr_values = sdr(matched, ref, filter_length)
    out: dict[str, Any] = {
        "permutation": list(perm),
        "si_snr": scores.tolist(),
        "sdr": sdr_values.tolist(),
    }
    if mix is not None:
        mixes = np.repeat(mix, len(ref), axis=0)
        out["si_snri"] = (scores - si_snr(mixes, ref)).tolist()
        out["sdri"] = (sdr_values - sdr(mixes, ref, filter_length)).tolist()
    return out


def separation_metrics(
    predictions: Sequence[Any],
    references: Sequence[Any],
    mixtures: Sequence[Any] | None = None,
    *,
    trim: bool = False,
    filter_length: int = DEFAULT_FILTER_LENGTH,
    method: str = "auto",
) -> dict[str, Any]:
    """Scores of many examples: means over every (example, source) pair plus per-example detail.

    ``predictions``/``references``: one (sources, samples) array per example (source counts
    may differ between examples). ``mixtures``: one (samples,) array per example, for the
    improvements. Returns ``si_snr``, ``sdr`` (+ ``si_snri``, ``sdri``) means,
    ``num_examples``, ``num_sources``, ``permutations`` and ``<score>_per_example`` lists.
    """
    if len(predictions) != len(references):
        raise ValueError(f"got {len(predictions)} predictions but {len(references)} references")
    if len(predictions) == 0:
        raise ValueError("no examples given")
    if mixtures is not None and len(mixtures) != len(references):
        raise ValueError(f"got {len(mixtures)} mixtures for {len(references)} examples")
    keys = ["si_snr", "sdr"] + (["si_snri", "sdri"] if mixtures is not None else [])
    per_example: dict[str, list] = {k: [] for k in keys}
    permutations = []
    for i, (est, ref) in enumerate(zip(predictions, references, strict=True)):
        try:
            res = separation_scores(
                est,
                ref,
                None if mixtures is None else mixtures[i],
                trim=trim,
                filter_length=filter_length,
                method=method,
            )
        except ValueError as e:
            raise ValueError(f"example {i}: {e}") from None
        permutations.append(res["permutation"])
        for k in keys:
            per_example[k].append(res[k])
    out: dict[str, Any] = {k: float(np.mean(np.concatenate(per_example[k]))) for k in keys}
    out["num_examples"] = len(permutations)
    out["num_sources"] = sum(len(p) for p in permutations)
    out["permutations"] = permutations
    out.update({f"{k}_per_example": v for k, v in per_example.items()})
    return out
