"""The student built the confusion matrix with rows = predicted and columns = true labels."""


def confusion_matrix(y_true, y_pred, labels=None):
    y_true, y_pred = _pair(y_true, y_pred)
    labels = np.unique(np.concatenate([y_true, y_pred])) if labels is None else np.asarray(labels)
    return _onehot(y_pred, labels).T @ _onehot(y_true, labels)
