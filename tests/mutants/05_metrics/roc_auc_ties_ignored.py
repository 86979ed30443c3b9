"""The student computes the AUC as the fraction of (positive, negative) pairs ranked strictly right: ties count 0, not 1/2."""


def roc_auc(y_true, scores):
    y_true, scores = _pair(y_true, scores)
    classes = np.unique(y_true)
    if len(classes) != 2:
        raise ValueError("roc_auc needs exactly 2 labels in y_true")
    positive = scores[y_true == classes[1]][:, None]
    negative = scores[y_true == classes[0]][None, :]
    return float(np.mean(positive > negative))
