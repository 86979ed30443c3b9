"""Reference solution of assignment 04: entropy, cross-entropy, KL and JS divergence.

A distribution is a probability vector along the last axis: shape (K,) for one,
(..., K) for a batch, in which case every function returns shape (...,).
`base` picks the unit: e gives nats, 2 gives bits.
"""

import numpy as np


def _distribution(p, name):
    """`p` as float64 after checking it is non-negative and sums to 1 along the last axis."""
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError(f"{name} must be a probability vector (last axis = classes), got a scalar")
    if not np.all(p >= 0):
        raise ValueError(f"{name} has negative or NaN entries; probabilities must be >= 0")
    if not np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-6):
        raise ValueError(f"{name} does not sum to 1 along its last axis (atol 1e-6)")
    return p


def _pair(p, q):
    """Two distributions of the same shape."""
    p, q = _distribution(p, "p"), _distribution(q, "q")
    if p.shape != q.shape:
        raise ValueError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
    return p, q


def _log(base):
    """Natural log of `base`: dividing a result in nats by it converts to that base."""
    if not base > 0 or base == 1:
        raise ValueError(f"base must be positive and not 1, got {base}")
    return np.log(base)


def _xlogy(x, y):
    """x * log(y) elementwise, with 0 * log(y) = 0 even where y is 0 or inf."""
    with np.errstate(divide="ignore"):
        return np.where(x > 0, x * np.log(np.where(x > 0, y, 1.0)), 0.0)


def _kl(p, q):
    """KL divergence in nats, sum of p log(p / q); inf where q == 0 < p."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = p / q
    return _xlogy(p, ratio).sum(axis=-1)


def entropy(p, base=np.e):
    """H(p) = -sum p log p."""
    p = _distribution(p, "p")
    return -_xlogy(p, p).sum(axis=-1) / _log(base)


def cross_entropy(p, q, base=np.e):
    """H(p, q) = -sum p log q; inf where q == 0 < p."""
    p, q = _pair(p, q)
    return -_xlogy(p, q).sum(axis=-1) / _log(base)


def kl_divergence(p, q, base=np.e):
    """D_KL(p || q) = sum p log(p / q) = H(p, q) - H(p) >= 0; not symmetric."""
    p, q = _pair(p, q)
    return _kl(p, q) / _log(base)


def js_divergence(p, q, base=2):
    """JS(p, q) = (KL(p || m) + KL(q || m)) / 2 with m = (p + q) / 2; symmetric, in [0, 1] for base 2."""
    p, q = _pair(p, q)
    m = (p + q) / 2
    return (_kl(p, m) + _kl(q, m)) / 2 / _log(base)


def binary_entropy(p1, base=2):
    """Entropy of a two-class node with a fraction p1 of class 1: same shape as p1."""
    p1 = np.asarray(p1, dtype=np.float64)
    if not np.all((p1 >= 0) & (p1 <= 1)):
        raise ValueError("p1 is a probability and must lie in [0, 1]")
    return entropy(np.stack([p1, 1 - p1], axis=-1), base)


QUIZ_ANSWERS = {'q1': 1.5, 'q2': 'D', 'q3': 0.3113, 'q4': 0.8113, 'q5': 'A'}  # the right answer to each quiz question
