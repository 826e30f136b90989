import numpy as np
import pytest

from prunelab.measurement.accuracy import accuracy_change, accuracy_interval, classification_metrics


def test_accuracy_and_f1_by_hand():
    labels = np.array([1, 1, 1, 0, 0, 0, 1, 0])
    preds = np.array([1, 1, 0, 0, 1, 0, 1, 0])
    # TP 3, FP 1, FN 1: precision 3/4, recall 3/4.
    metrics = classification_metrics(labels, preds)
    assert metrics["accuracy"] == 6 / 8
    assert metrics["f1"] == pytest.approx(0.75)
    assert classification_metrics(np.array([1, 0]), np.array([0, 0]))["f1"] == 0.0


def test_wilson_interval_of_an_sst2_dev_accuracy():
    low, high = accuracy_interval(0.868, 872)
    assert low < 0.868 < high
    assert high - low == pytest.approx(2 * 1.96 * np.sqrt(0.868 * 0.132 / 872), rel=0.05)  # about ±2.2 points
    assert accuracy_interval(1.0, 10)[1] == pytest.approx(1.0) and accuracy_interval(1.0, 10)[0] < 0.8


def test_paired_change_counts_sentences_and_its_interval_shrinks_with_agreement():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 872)
    baseline = np.where(rng.random(872) < 0.87, labels, 1 - labels)
    flipped = baseline.copy()
    wrong_now = np.flatnonzero(baseline == labels)[:8]  # 8 sentences the baseline got right, now wrong
    flipped[wrong_now] = 1 - flipped[wrong_now]
    change = accuracy_change(labels, baseline, flipped)
    assert change["points"] == pytest.approx(-8 / 872 * 100)
    assert change["sentences_lost"] == 8 and change["sentences_gained"] == 0 and change["sentences_changed"] == 8
    low, high = change["ci95_points"]
    assert low < change["points"] < high < 0  # 8 losses and no gains: a measurable drop
    # Independent accuracies would be uncertain by about ±1.6 points each; pairing makes this far tighter.
    assert high - low < 1.5


def test_a_model_against_itself_has_no_change():
    labels = np.array([0, 1, 1, 0])
    change = accuracy_change(labels, labels, labels)
    assert change["points"] == 0 and change["ci95_points"] == [0.0, 0.0]
