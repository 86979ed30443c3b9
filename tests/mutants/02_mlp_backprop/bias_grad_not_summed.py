"""backward returns the bias gradients per sample, (N, n) instead of (n,): they are never
summed over the batch, so they have the wrong shape (and train broadcasts b1, b2 into matrices)."""


def backward(params, cache, y):
    X, h, out = cache["X"], cache["h"], cache["out"]
    d_z2 = 2 * (out - _targets(y, out)) / out.size * sigmoid_grad(out)
    d_z1 = d_z2 @ params["W2"].T * sigmoid_grad(h)
    return {"W1": X.T @ d_z1, "b1": d_z1, "W2": h.T @ d_z2, "b2": d_z2}
