"""js_divergence without the 1/2: KL(p || m) + KL(q || m), twice the divergence.

Still symmetric and 0 for p == q, but up to 2 bits instead of 1.
"""


def js_divergence(p, q, base=2):
    p, q = _pair(p, q)
    m = (p + q) / 2
    return (_kl(p, m) + _kl(q, m)) / _log(base)
