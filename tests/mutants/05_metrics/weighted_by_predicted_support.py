"""The student's weighted average weights each class by how often it is predicted, not by its true support."""


def precision(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    tp, predicted, _ = _counts(y_true, y_pred, average, pos_label)
    return _average(tp, predicted, predicted, average, zero_division)


def recall(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    tp, predicted, support = _counts(y_true, y_pred, average, pos_label)
    return _average(tp, support, predicted, average, zero_division)
