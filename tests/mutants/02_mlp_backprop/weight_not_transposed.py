"""backward sends the gradient into the hidden layer through W2 instead of W2^T: a shape error
unless n_hidden == n_out, and silently wrong gradients for W1 and b1 when they are equal."""


def backward(params, cache, y):
    X, h, out = cache["X"], cache["h"], cache["out"]
    d_z2 = 2 * (out - _targets(y, out)) / out.size * sigmoid_grad(out)
    d_z1 = d_z2 @ params["W2"] * sigmoid_grad(h)
    return {"W1": X.T @ d_z1, "b1": d_z1.sum(axis=0), "W2": h.T @ d_z2, "b2": d_z2.sum(axis=0)}
