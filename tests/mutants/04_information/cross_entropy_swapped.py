"""cross_entropy computes H(q, p) = -sum q log p: the roles of p and q are swapped.

Also finite where q == 0 < p, and KL != H(p, q) - H(p) any more.
"""


def cross_entropy(p, q, base=np.e):
    p, q = _pair(p, q)
    return -_xlogy(q, p).sum(axis=-1) / _log(base)
