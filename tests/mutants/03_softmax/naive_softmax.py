"""Naive softmax: exp(z) / sum(exp(z)) without subtracting the maximum first.

Right for small logits; overflows to inf / inf = nan near +1e4 and underflows
to 0 / 0 = nan near -1e4 (also in the Jacobian and the loss gradient, which use it).
"""


def softmax(z, axis=-1):
    z = np.asarray(z, dtype=np.float64)
    e = np.exp(z)
    return e / e.sum(axis=axis, keepdims=True)
