"""The sigmoid written as exp(a) / (1 + exp(a)): inf / inf = nan once a pre-activation exceeds 709.

Right for moderate inputs; saturated gates and long sequences with large inputs turn into NaN.
"""


def _sigmoid(a):
    e = np.exp(a)
    return e / (1 + e)
