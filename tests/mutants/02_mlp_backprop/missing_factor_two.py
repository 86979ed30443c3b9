"""backward forgets the 2 of d(out - y)^2 / d out: every gradient is half the right size."""


def backward(params, cache, y):
    X, h, out = cache["X"], cache["h"], cache["out"]
    d_z2 = (out - _targets(y, out)) / out.size * sigmoid_grad(out)
    d_z1 = d_z2 @ params["W2"].T * sigmoid_grad(h)
    return {"W1": X.T @ d_z1, "b1": d_z1.sum(axis=0), "W2": h.T @ d_z2, "b2": d_z2.sum(axis=0)}
