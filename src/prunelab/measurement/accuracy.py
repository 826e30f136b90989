"""Accuracy and its uncertainty: how sure a reader can be of an accuracy, and of a change in it.

Pure numpy, so the report uses it without TensorFlow.
"""

from __future__ import annotations

import numpy as np

Z95 = 1.959964  # the normal distribution's two-sided 95% quantile


def classification_metrics(labels: np.ndarray, predictions: np.ndarray) -> dict:
    """Accuracy and F1 of the positive class (label 1), as GLUE reports SST-2."""
    labels, predictions = np.asarray(labels), np.asarray(predictions)
    true_pos = int(np.sum((predictions == 1) & (labels == 1)))
    precision_den, recall_den = int(np.sum(predictions == 1)), int(np.sum(labels == 1))
    precision = true_pos / precision_den if precision_den else 0.0
    recall = true_pos / recall_den if recall_den else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {"accuracy": float(np.mean(labels == predictions)), "f1": f1}


def accuracy_change(labels, baseline_predictions, other_predictions) -> dict:
    """The other model's accuracy minus the baseline's, in points, with a paired 95% interval.

    Both models label the same sentences, so the per-sentence differences in correctness
    are paired: their spread, not that of two independent accuracies, sets the interval
    (a pruned model mostly errs where its baseline does).
    """
    labels = np.asarray(labels)
    differences = ((np.asarray(other_predictions) == labels).astype(float)
                   - (np.asarray(baseline_predictions) == labels).astype(float))
    mean, error = differences.mean(), differences.std(ddof=1) / np.sqrt(len(differences))
    return {"points": mean * 100, "ci95_points": [(mean - Z95 * error) * 100, (mean + Z95 * error) * 100],
            "sentences_changed": int(np.count_nonzero(differences)),
            "sentences_gained": int((differences > 0).sum()), "sentences_lost": int((differences < 0).sum())}


def accuracy_interval(accuracy: float, sentences: int) -> list[float]:
    """Wilson's 95% interval of an accuracy measured on ``sentences`` sentences."""
    centre = (accuracy + Z95**2 / (2 * sentences)) / (1 + Z95**2 / sentences)
    spread = Z95 * np.sqrt(accuracy * (1 - accuracy) / sentences + Z95**2 / (4 * sentences**2)) / (
        1 + Z95**2 / sentences)
    return [float(centre - spread), float(centre + spread)]
