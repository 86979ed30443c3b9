"""The student divides tp by tp + fp directly and never uses zero_division: 0 / 0 becomes nan."""


def _divide(numerator, denominator, zero_division):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.asarray(numerator, np.float64) / np.asarray(denominator, np.float64)
