"""The student mixed up macro and micro averaging: "macro" pools the counts, "micro" averages the per-class ratios."""


def _average(numerator, denominator, support, average, zero_division):
    if average == "macro":
        return float(_divide(numerator.sum(), denominator.sum(), zero_division))
    ratios = _divide(numerator, denominator, zero_division)
    return float(np.average(ratios, weights=support if average == "weighted" else None))
