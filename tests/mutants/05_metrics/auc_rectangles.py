"""The student integrates with rectangles (right endpoint) instead of trapezoids."""


def auc(x, y):
    x, y = _pair(x, y)
    x, y = x.astype(np.float64), y.astype(np.float64)
    if len(x) < 2:
        raise ValueError("auc needs at least 2 points")
    dx = np.diff(x)
    if not (np.all(dx >= 0) or np.all(dx <= 0)):
        raise ValueError("x must be monotonic")
    return float(abs(np.sum(dx * y[1:])))
