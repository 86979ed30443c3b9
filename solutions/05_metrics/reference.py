"""Reference solution of assignment 05: classification metrics, ROC and AUC.

`y_true`, `y_pred` are 1-D arrays of N labels (any values `np.unique` can sort:
integers, strings, booleans); `scores` are N real-valued confidences that the
sample belongs to the positive class. Everything is counted from one-hot
indicators: `onehot[n, k] = (y[n] == labels[k])`.
"""

import numpy as np

AVERAGES = ("binary", "macro", "micro", "weighted")


def _pair(y_true, y_pred):
    """Check and convert two label (or score) arrays: both 1-D, same length N >= 1."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    if y_true.ndim != 1 or y_pred.ndim != 1:
        raise ValueError(f"expected 1-D arrays, got shapes {y_true.shape} and {y_pred.shape}")
    if len(y_true) != len(y_pred):
        raise ValueError(f"the two arrays have different lengths: {len(y_true)} and {len(y_pred)}")
    if len(y_true) == 0:
        raise ValueError("the arrays are empty: there is nothing to measure")
    return y_true, y_pred


def _onehot(y, labels):
    """onehot[n, k] = 1 if y[n] == labels[k]: (N, K) integers; a label outside `labels` gives a zero row."""
    return (y[:, None] == labels[None, :]).astype(np.int64)


def confusion_matrix(y_true, y_pred, labels=None):
    """C[i, j] = number of samples of true class labels[i] predicted as labels[j]: (K, K) integers.

    labels defaults to the sorted union of the labels in y_true and y_pred;
    samples whose true or predicted label is not in `labels` are not counted.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    if labels.ndim != 1 or len(labels) == 0 or len(np.unique(labels)) != len(labels):
        raise ValueError(f"labels must be a non-empty 1-D list of distinct labels, got {labels!r}")
    return _onehot(y_true, labels).T @ _onehot(y_pred, labels)


def accuracy(y_true, y_pred):
    """Fraction of samples whose predicted label equals the true one: a float in [0, 1]."""
    y_true, y_pred = _pair(y_true, y_pred)
    return float(np.mean(y_true == y_pred))


def _counts(y_true, y_pred, average, pos_label):
    """True positives, predicted counts (tp + fp) and true counts (tp + fn) per class: three (K,) arrays.

    The classes are [pos_label] for average="binary", else every label in y_true or y_pred.
    """
    y_true, y_pred = _pair(y_true, y_pred)
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    labels = np.unique(np.concatenate([y_true, y_pred]))
    if average == "binary":
        if len(labels) > 2:
            raise ValueError(f"average='binary' needs at most 2 distinct labels, got {len(labels)}; "
                             "use 'macro', 'micro' or 'weighted' for more classes")
        if len(labels) == 2 and pos_label not in labels:
            raise ValueError(f"pos_label={pos_label!r} is not one of the labels {labels.tolist()}")
        labels = np.array([pos_label])
    true, pred = _onehot(y_true, labels), _onehot(y_pred, labels)
    return (true * pred).sum(axis=0), pred.sum(axis=0), true.sum(axis=0)


def _divide(numerator, denominator, zero_division):
    """numerator / denominator elementwise, `zero_division` where the denominator is 0."""
    numerator, denominator = np.asarray(numerator, np.float64), np.asarray(denominator, np.float64)
    safe = np.where(denominator == 0, 1.0, denominator)
    return np.where(denominator == 0, zero_division, numerator / safe)


def _average(numerator, denominator, support, average, zero_division):
    """Combine the per-class ratios numerator / denominator into one float.

    micro: pool the counts first, then divide once. macro (and binary, one class):
    plain mean of the per-class ratios. weighted: their mean weighted by the
    true support of each class.
    """
    if average == "micro":
        return float(_divide(numerator.sum(), denominator.sum(), zero_division))
    ratios = _divide(numerator, denominator, zero_division)
    return float(np.average(ratios, weights=support if average == "weighted" else None))


def precision(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    """tp / (tp + fp): of the samples predicted as a class, the share that truly is it."""
    tp, predicted, support = _counts(y_true, y_pred, average, pos_label)
    return _average(tp, predicted, support, average, zero_division)


def recall(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    """tp / (tp + fn): of the samples truly of a class, the share predicted as it."""
    tp, _, support = _counts(y_true, y_pred, average, pos_label)
    return _average(tp, support, support, average, zero_division)


def fbeta(y_true, y_pred, beta, average="binary", pos_label=1, zero_division=0.0):
    """(1 + b^2) P R / (b^2 P + R) = (1 + b^2) tp / ((1 + b^2) tp + b^2 fn + fp).

    The count form is used: it is defined whenever the class occurs in y_true or
    in y_pred, even where P or R alone is 0 / 0.
    """
    if not beta >= 0:
        raise ValueError(f"beta must be a non-negative number, got {beta!r}")
    tp, predicted, support = _counts(y_true, y_pred, average, pos_label)
    b2 = beta ** 2
    return _average((1 + b2) * tp, b2 * support + predicted, support, average, zero_division)


def f1(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    """Harmonic mean of precision and recall: fbeta with beta = 1."""
    return fbeta(y_true, y_pred, 1.0, average, pos_label, zero_division)


def roc_curve(y_true, scores, pos_label=1):
    """False and true positive rates as the threshold sweeps down over the distinct scores.

    Returns (fpr, tpr, thresholds), each of length D + 1 for D distinct scores:
    thresholds = [inf, s_1 > s_2 > ... > s_D], and point i counts the samples
    with score >= thresholds[i] as positive; the first point is (0, 0).
    Raises ValueError unless y_true holds both positives and negatives.
    """
    y_true, scores = _pair(y_true, scores)
    scores = scores.astype(np.float64)
    positive = y_true == pos_label
    if positive.all() or not positive.any():
        raise ValueError(f"y_true needs both samples equal to pos_label={pos_label!r} and others")
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    # the last sample of each run of tied scores: every sample up to it is above the threshold
    last = np.append(np.flatnonzero(np.diff(scores)), len(scores) - 1)
    tps = np.concatenate([[0], np.cumsum(positive)[last]])
    fps = np.concatenate([[0], last + 1]) - tps
    return fps / fps[-1], tps / tps[-1], np.concatenate([[np.inf], scores[last]])


def auc(x, y):
    """Area under the piecewise-linear curve through (x[i], y[i]) by the trapezoid rule: a float.

    x must be monotonic; for decreasing x the sign is flipped, so that integrating
    a positive y either way gives a positive area.
    """
    x, y = _pair(x, y)
    x, y = x.astype(np.float64), y.astype(np.float64)
    if len(x) < 2:
        raise ValueError(f"auc needs at least 2 points, got {len(x)}")
    dx = np.diff(x)
    if not (np.all(dx >= 0) or np.all(dx <= 0)):
        raise ValueError("x must be monotonic (sorted increasing or decreasing)")
    area = np.sum(dx * (y[1:] + y[:-1]) / 2)
    return float(area if np.all(dx >= 0) else -area)


def roc_auc(y_true, scores):
    """Area under the ROC curve; y_true holds exactly two labels, the larger one is positive.

    Equals P(score of a random positive > score of a random negative), ties counting 1/2.
    """
    classes = np.unique(np.asarray(y_true))
    if len(classes) != 2:
        raise ValueError(f"roc_auc needs exactly 2 distinct labels in y_true, got {len(classes)}")
    fpr, tpr, _ = roc_curve(y_true, scores, pos_label=classes[1])
    return auc(fpr, tpr)


QUIZ_ANSWERS = {'q1': 0.99, 'q2': 0.8889, 'q3': 0.7741, 'q4': 'B', 'q5': 0.7222, 'q6': 'C'}  # the right answer to each quiz question
