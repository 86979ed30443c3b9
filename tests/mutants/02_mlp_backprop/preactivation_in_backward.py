"""backward calls sigmoid_grad on the pre-activations z1, z2 instead of the outputs h, out
(the notes' sigmoid_derivative(x) = x (1 - x) invites it): z (1 - z) is no derivative at all."""


def forward(params, X):
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != np.shape(params["W1"])[0]:
        raise ValueError(f"X must have shape (N, {np.shape(params['W1'])[0]}), got {X.shape}")
    z1 = X @ params["W1"] + params["b1"]
    h = sigmoid(z1)
    z2 = h @ params["W2"] + params["b2"]
    out = sigmoid(z2)
    return out, {"X": X, "z1": z1, "h": h, "z2": z2, "out": out}


def backward(params, cache, y):
    X, z1, h, z2, out = (cache[key] for key in ("X", "z1", "h", "z2", "out"))
    y = _targets(y, out)
    d_z2 = 2 * (out - y) / out.size * sigmoid_grad(z2)
    d_z1 = d_z2 @ params["W2"].T * sigmoid_grad(z1)
    return {"W1": X.T @ d_z1, "b1": d_z1.sum(axis=0), "W2": h.T @ d_z2, "b2": d_z2.sum(axis=0)}
