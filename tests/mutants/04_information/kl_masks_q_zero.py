"""KL skips every term where p or q is 0, so it is finite where q == 0 < p.

The 0 log 0 = 0 masking applied to q as well: a zero in q is treated like a
zero in p instead of making the divergence inf.
"""


def kl_divergence(p, q, base=np.e):
    p, q = _pair(p, q)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where((p > 0) & (q > 0), p * np.log(p / q), 0.0)
    return terms.sum(axis=-1) / _log(base)
