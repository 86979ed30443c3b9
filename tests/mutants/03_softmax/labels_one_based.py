"""One-hot built as if labels were 1-based: the 1 goes to column labels - 1.

NumPy accepts index -1 for label 0 (the last column), so nothing crashes; the
gradient is just wrong. The loss itself picks the right column.
"""


def cross_entropy_grad(logits, labels):
    logits, labels = _batch(logits, labels)
    n, k = logits.shape
    onehot = np.zeros((n, k))
    onehot[np.arange(n), labels - 1] = 1.0
    return (softmax(logits) - onehot) / n
