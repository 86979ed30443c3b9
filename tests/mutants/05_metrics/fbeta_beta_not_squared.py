"""The student wrote F-beta with beta where the formula has beta squared."""


def fbeta(y_true, y_pred, beta, average="binary", pos_label=1, zero_division=0.0):
    if not beta >= 0:
        raise ValueError(f"beta must be non-negative, got {beta!r}")
    tp, predicted, support = _counts(y_true, y_pred, average, pos_label)
    return _average((1 + beta) * tp, beta * support + predicted, support, average, zero_division)
