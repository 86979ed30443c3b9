"""entropy of a batch summed over axis 0 (across the distributions) instead of the last axis.

Right for one vector, where axis 0 is the last axis; for a (N, K) batch it
returns K numbers that each mix N distributions.
"""


def entropy(p, base=np.e):
    p = _distribution(p, "p")
    return -_xlogy(p, p).sum(axis=0) / _log(base)
