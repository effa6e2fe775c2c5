"""evaluate module: SI-SNR(i) and BSS-eval SDR(i) with permutation-invariant source matching.

The math lives in ``avzoo.metrics.functional.separation`` (imported absolutely: evaluate runs
this script from its module cache, where relative imports of avzoo do not resolve).
"""

import datasets
import evaluate

from avzoo.metrics.functional.separation import separation_metrics

_DESCRIPTION = """\
Speech-separation scores: SI-SNR and BSS-eval SDR (whole-signal, 512-tap distortion filter, as
mir_eval's bss_eval_sources), and with the mixture their improvements SI-SNRi and SDRi. The
estimates are matched to the references by maximising summed SI-SNR: every permutation for up
to 3 sources, Hungarian matching beyond; the chosen permutation is returned per example.
Means are over every (example, source) pair. Definitions: avzoo.metrics.functional.separation.
Config "default": predictions, references. Config "with_mixture": also mixtures.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of (sources, samples) float arrays, one per example.
    references: list of (sources, samples) float arrays with the same source counts.
    mixtures: (config "with_mixture" only) list of (samples,) float arrays.
    trim: crop to the shortest length instead of raising on a length mismatch (default False).
    filter_length: BSS-eval distortion filter taps (default 512).
    method: "auto" (default), "exhaustive" or "hungarian" source matching.
Returns:
    si_snr, sdr (and si_snri, sdri), num_examples, num_sources, permutations
    (permutations[e][i] = estimate matched to reference i), si_snr_per_example, sdr_per_example
    (and si_snri_per_example, sdri_per_example), each a list of per-reference lists.
Examples:
    >>> import avzoo.metrics
    >>> metric = avzoo.metrics.load("separation")
    >>> import numpy as np
    >>> refs = np.random.default_rng(0).standard_normal((2, 1600)).astype("float32")
    >>> metric.compute(predictions=[refs[::-1]], references=[refs])["permutations"]
    [[1, 0]]
"""

_CITATION = """\
@inproceedings{le2019sdr, title={SDR -- half-baked or well done?}, author={Le Roux, Jonathan and Wisdom, Scott
and Erdogan, Hakan and Hershey, John R.}, booktitle={ICASSP}, year={2019}}
@article{vincent2006performance, title={Performance measurement in blind audio source separation},
author={Vincent, Emmanuel and Gribonval, R{\\'e}mi and F{\\'e}votte, C{\\'e}dric}, journal={IEEE TASLP}, year={2006}}
"""

_CONFIGS = ("default", "with_mixture")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Separation(evaluate.Metric):
    def _info(self):
        if self.config_name not in _CONFIGS:
            raise ValueError(f"unknown config {self.config_name!r}; choose one of {list(_CONFIGS)}")
        sources = datasets.List(datasets.List(datasets.Value("float32")))
        features = {"predictions": sources, "references": sources}
        if self.config_name == "with_mixture":
            features["mixtures"] = datasets.List(datasets.Value("float32"))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(features),
            reference_urls=["https://arxiv.org/abs/1811.02508"],
        )

    def _compute(self, predictions, references, mixtures=None, **kwargs):
        return separation_metrics(predictions, references, mixtures, **kwargs)
