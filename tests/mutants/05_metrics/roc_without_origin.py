"""The student's ROC curve starts at the highest score: the first point (0, 0) at threshold +inf is missing."""


def roc_curve(y_true, scores, pos_label=1):
    y_true, scores = _pair(y_true, scores)
    scores = scores.astype(np.float64)
    positive = y_true == pos_label
    if positive.all() or not positive.any():
        raise ValueError("y_true needs both positives and negatives")
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    last = np.append(np.flatnonzero(np.diff(scores)), len(scores) - 1)
    tps = np.cumsum(positive)[last]
    fps = last + 1 - tps
    return fps / fps[-1], tps / tps[-1], scores[last]
