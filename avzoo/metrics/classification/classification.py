"""evaluate module: accuracy, UAR/WAR, macro and weighted F1, per-class scores, confusion matrix.

The math lives in ``avzoo.metrics.functional.classification`` (imported absolutely: evaluate
runs this script from its module cache, where relative imports of avzoo do not resolve).
"""

import datasets
import evaluate

from avzoo.metrics.functional.classification import classification_metrics

_DESCRIPTION = """\
Classification scores for emotion recognition. accuracy; war (weighted average recall, which
equals accuracy); uar (unweighted average recall = balanced accuracy, over classes present in
the references); macro_f1 (over classes that occur); weighted_f1 (F1 weighted by support, as
MELD reports); macro_precision; per-class precision, recall, F1 and support; the confusion
matrix (rows: reference class, columns: predicted class). Labels are integer ids or strings.
Definitions: avzoo.metrics.functional.classification.
"""

_KWARGS_DESCRIPTION = """
Args:
    predictions: list of predicted labels (int class ids or strings).
    references: list of reference labels, same kind.
    labels: class names; with int ids, labels[i] names class i. Default: sorted labels that occur.
Returns:
    accuracy, war, uar, macro_f1, weighted_f1, macro_precision, num_examples, labels,
    confusion_matrix, per_class_precision, per_class_recall, per_class_f1, support.
Examples:
    >>> import avzoo.metrics
    >>> metric = avzoo.metrics.load("classification")
    >>> metric.compute(predictions=[0, 1, 1], references=[0, 1, 0], labels=["neutral", "happy"])["uar"]
    0.75
"""

_CITATION = ""


@evaluate.utils.file_utils.add_start_docstrings(_DESCRIPTION, _KWARGS_DESCRIPTION)
class Classification(evaluate.Metric):
    def _info(self):
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation=_CITATION,
            inputs_description=_KWARGS_DESCRIPTION,
            # String labels first: an int64 feature would quietly accept "3" as 3.
            features=[
                datasets.Features(
                    {"predictions": datasets.Value("string"), "references": datasets.Value("string")}
                ),
                datasets.Features(
                    {"predictions": datasets.Value("int64"), "references": datasets.Value("int64")}
                ),
            ],
        )

    def _compute(self, predictions, references, labels=None):
        return classification_metrics(predictions, references, labels)
