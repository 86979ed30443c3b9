"""Reference solution of assignment 03: softmax, log-softmax and their derivatives.

Logits `z` hold one score per class along an axis (the last one by default);
`logits` for the loss are a batch `(N, K)` and `labels` its `N` class indices.
"""

import numpy as np


def softmax(z, axis=-1):
    """exp(z) / sum(exp(z)) along `axis`; same shape as `z`.

    softmax(z - c) = softmax(z) for any constant c; with c = max(z) the largest
    exponent is exp(0) = 1, so nothing overflows and the sum is at least 1.
    """
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z - z.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def log_softmax(z, axis=-1):
    """z - logsumexp(z) along `axis`; same shape as `z`, finite for finite `z`.

    log(softmax(z)) would give log(0) = -inf once a probability underflows.
    """
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=axis, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=axis, keepdims=True))


def softmax_jacobian(z):
    """d softmax(z)_i / d z_j = s_i (delta_ij - s_j) for 1-D `z` of length K: (K, K)."""
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1:
        raise ValueError(f"softmax_jacobian takes a 1-D vector of logits, got shape {z.shape}")
    s = softmax(z)
    return np.diag(s) - np.outer(s, s)


def _batch(logits, labels):
    """Check and convert a batch: logits (N, K) float64, labels (N,) integers in [0, K)."""
    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels)
    if logits.ndim != 2 or len(logits) == 0:
        raise ValueError(f"logits must have shape (N, K) with N >= 1, got {logits.shape}")
    if labels.shape != logits.shape[:1]:
        raise ValueError(f"labels must have shape ({logits.shape[0]},) to match logits {logits.shape}, got {labels.shape}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be integer class indices, got dtype {labels.dtype}")
    if np.any((labels < 0) | (labels >= logits.shape[1])):
        raise ValueError(f"labels must lie in [0, {logits.shape[1]}) for {logits.shape[1]} classes")
    return logits, labels


def cross_entropy(logits, labels):
    """Mean over the batch of -log softmax(logits)[i, labels[i]]: a float."""
    logits, labels = _batch(logits, labels)
    picked = log_softmax(logits)[np.arange(len(labels)), labels]
    return float(-picked.mean())


def cross_entropy_grad(logits, labels):
    """Gradient of `cross_entropy` with respect to the logits: (softmax - onehot) / N, shape (N, K)."""
    logits, labels = _batch(logits, labels)
    n, k = logits.shape
    onehot = np.eye(k)[labels]
    return (softmax(logits) - onehot) / n


QUIZ_ANSWERS = {'q1': 0.75, 'q2': 'B', 'q3': 0.1875, 'q4': 'C'}  # the right answer to each quiz question
