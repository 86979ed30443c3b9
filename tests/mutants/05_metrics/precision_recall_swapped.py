"""The student swapped precision and recall: precision divides by the true count, recall by the predicted count."""


def precision(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    tp, _, support = _counts(y_true, y_pred, average, pos_label)
    return _average(tp, support, support, average, zero_division)


def recall(y_true, y_pred, average="binary", pos_label=1, zero_division=0.0):
    tp, predicted, support = _counts(y_true, y_pred, average, pos_label)
    return _average(tp, predicted, support, average, zero_division)
