"""evaluate module: errors of predicted ARKit blendshape tracks against reference tracks.

The math lives in ``avzoo.metrics.functional.blendshape`` (imported absolutely: evaluate runs
this script from its module cache, where relative imports of avzoo do not resolve).
"""

import datasets
import evaluate

from avzoo.metrics.functional.blendshape import blendshape_errors

_DESCRIPTION = """\
Errors of predicted ARKit blendshape tracks (T, 52) against references, pooled over all frames:
MAE/RMSE overall, per channel and per channel group (avzoo.arkit.GROUPS), per-channel Pearson r
(NaN for constant channels, left out of means), lip-closure and open-lip accuracy, velocity
error and jitter. Definitions: avzoo.metrics.functional.blendshape.
Config "default": predictions, references. Config "with_lips_closed": also lips_closed, a
per-frame boolean mask of frames where the lips must be closed (e.g. /p b m/).
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of (T_i, C) float arrays, one per sequence.
    references: list of (T_i, C) float arrays.
    lips_closed: (config "with_lips_closed" only) list of (T_i,) boolean arrays.
    fps: frame rate (default 30), for velocity (1/s) and jitter (1/s^2).
    names: channel order of the tracks (an avzoo.arkit.ORDERS key or a list of names);
        canonical ARKit order when None.
    reference_names: channel order of the references when it differs from `names`.
    trim: crop each pair to its shorter length instead of raising on a mismatch (default False).
    closure_threshold, open_threshold: lip-state thresholds (default 0.2, 0.1).
Returns:
    mae, rmse, pearson, {mae,rmse,pearson}_per_group, {mae,rmse,pearson}_per_channel,
    pearson_undefined, lip_closure_accuracy, lip_open_accuracy, lip_closed_frames,
    lip_open_frames, velocity_mae, jitter_pred, jitter_ref, jitter_ratio, num_sequences, num_frames.
Examples:
    >>> import avzoo.metrics
    >>> metric = avzoo.metrics.load("blendshape_error")
    >>> import numpy as np
    >>> ref = np.zeros((10, 52), dtype="float32")
    >>> metric.compute(predictions=[ref + 0.1], references=[ref])["mae"]  # doctest: +ELLIPSIS
    0.1...
"""

_CITATION = ""

_CONFIGS = ("default", "with_lips_closed")


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class BlendshapeError(evaluate.Metric):
    def _info(self):
        if self.config_name not in _CONFIGS:
            raise ValueError(f"unknown config {self.config_name!r}; choose one of {list(_CONFIGS)}")
        track = datasets.List(datasets.List(datasets.Value("float32")))
        features = {"predictions": track, "references": track}
        if self.config_name == "with_lips_closed":
            features["lips_closed"] = datasets.List(datasets.Value("bool"))
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            features=datasets.Features(features),
        )

    def _compute(self, predictions, references, lips_closed=None, **kwargs):
        return blendshape_errors(predictions, references, lips_closed=lips_closed, **kwargs)
