"""`base` ignored: entropy and js_divergence always use the natural log.

Right for the default base e of entropy; js_divergence (default base 2) returns
nats, so disjoint supports give ln 2 instead of 1 bit, and binary_entropy too.
"""


def entropy(p, base=np.e):
    p = _distribution(p, "p")
    return -_xlogy(p, p).sum(axis=-1)


def js_divergence(p, q, base=2):
    p, q = _pair(p, q)
    m = (p + q) / 2
    return (_kl(p, m) + _kl(q, m)) / 2
