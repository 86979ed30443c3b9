"""The student's ROC curve has one point per sample: tied scores are split into separate steps."""


def roc_curve(y_true, scores, pos_label=1):
    y_true, scores = _pair(y_true, scores)
    scores = scores.astype(np.float64)
    positive = y_true == pos_label
    if positive.all() or not positive.any():
        raise ValueError("y_true needs both positives and negatives")
    order = np.argsort(-scores, kind="stable")
    scores, positive = scores[order], positive[order]
    tps = np.concatenate([[0], np.cumsum(positive)])
    fps = np.arange(len(scores) + 1) - tps
    return fps / fps[-1], tps / tps[-1], np.concatenate([[np.inf], scores])
