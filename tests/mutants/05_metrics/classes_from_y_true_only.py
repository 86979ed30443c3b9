"""The student averages over the classes in y_true only, forgetting classes that are predicted but never true."""


def _counts(y_true, y_pred, average, pos_label):
    y_true, y_pred = _pair(y_true, y_pred)
    if average not in AVERAGES:
        raise ValueError(f"average must be one of {AVERAGES}, got {average!r}")
    labels = np.unique(y_true)
    if average == "binary":
        if len(np.unique(np.concatenate([y_true, y_pred]))) > 2:
            raise ValueError("average='binary' needs at most 2 distinct labels")
        labels = np.array([pos_label])
    true, pred = _onehot(y_true, labels), _onehot(y_pred, labels)
    return (true * pred).sum(axis=0), pred.sum(axis=0), true.sum(axis=0)
