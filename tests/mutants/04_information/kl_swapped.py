"""kl_divergence computes D_KL(q || p): the arguments are swapped.

sum q log(q / p) instead of sum p log(p / q); also finite where q == 0 < p.
"""


def kl_divergence(p, q, base=np.e):
    p, q = _pair(p, q)
    return _kl(q, p) / _log(base)
