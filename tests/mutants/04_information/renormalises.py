"""Unnormalised input silently renormalised (like scipy.stats.entropy) instead of ValueError.

Negative entries are still rejected, but [0.5, 0.6] is treated as [5/11, 6/11].
"""


def _distribution(p, name):
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError(f"{name} must be a probability vector, got a scalar")
    if not np.all(p >= 0):
        raise ValueError(f"{name} has negative entries")
    return p / p.sum(axis=-1, keepdims=True)
