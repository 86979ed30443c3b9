"""Reference solution of assignment 02: a two-layer sigmoid network trained by backpropagation.

Shapes: X (N, n_in), h (N, n_hidden), out and y (N, n_out); weights as
(fan_in, fan_out) so that a layer is `X @ W + b`.
    h = sigmoid(X W1 + b1),   out = sigmoid(h W2 + b2),   L = mean((out - y) ** 2)
"""

import numpy as np

KEYS = ("W1", "b1", "W2", "b2")


def sigmoid(x):
    """1 / (1 + exp(-x)) elementwise; same shape as `x`, in [0, 1], no overflow for any finite x.

    Both branches exponentiate -|x| <= 0: for x >= 0, 1 / (1 + e^-x); for x < 0,
    multiply above and below by e^x to get e^x / (1 + e^x).
    """
    x = np.asarray(x, dtype=np.float64)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def sigmoid_grad(s):
    """d sigmoid / dx written through the OUTPUT s = sigmoid(x): s (1 - s); same shape as `s`."""
    s = np.asarray(s, dtype=np.float64)
    return s * (1 - s)


def init_params(n_in, n_hidden, n_out, seed=0):
    """Xavier-normal weights, std sqrt(2 / (fan_in + fan_out)), and zero biases.

    Returns {"W1": (n_in, n_hidden), "b1": (n_hidden,), "W2": (n_hidden, n_out), "b2": (n_out,)}.
    """
    sizes = (n_in, n_hidden, n_out)
    if any(int(n) != n or n < 1 for n in sizes):
        raise ValueError(f"layer sizes must be positive integers, got n_in, n_hidden, n_out = {sizes}")
    rng = np.random.default_rng(seed)

    def xavier(fan_in, fan_out):
        return rng.normal(0.0, np.sqrt(2.0 / (fan_in + fan_out)), (fan_in, fan_out))

    return {"W1": xavier(n_in, n_hidden), "b1": np.zeros(n_hidden),
            "W2": xavier(n_hidden, n_out), "b2": np.zeros(n_out)}


def forward(params, X):
    """out (N, n_out) for X (N, n_in), and the cache {"X", "h", "out"} that backward needs."""
    X = np.asarray(X, dtype=np.float64)
    W1 = np.asarray(params["W1"], dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != W1.shape[0]:
        raise ValueError(f"X must have shape (N, {W1.shape[0]}) to match W1 {W1.shape}, got {X.shape}")
    h = sigmoid(X @ W1 + params["b1"])
    out = sigmoid(h @ np.asarray(params["W2"], dtype=np.float64) + params["b2"])
    return out, {"X": X, "h": h, "out": out}


def _targets(y, out):
    """y as float64, with exactly the shape of `out` (no silent broadcasting of (N,) against (N, 1))."""
    y = np.asarray(y, dtype=np.float64)
    if y.shape != out.shape:
        raise ValueError(f"y must have the shape of the output {out.shape}, got {y.shape}")
    return y


def loss(out, y):
    """Mean squared error over all N * n_out elements: a float."""
    out = np.asarray(out, dtype=np.float64)
    return float(np.mean((out - _targets(y, out)) ** 2))


def backward(params, cache, y):
    """Gradients of loss(out, y) for every parameter: a dict with the keys and shapes of `params`."""
    X, h, out = cache["X"], cache["h"], cache["out"]
    y = _targets(y, out)
    d_out = 2 * (out - y) / out.size            # dL/d out: the mean divides by all N * n_out elements
    d_z2 = d_out * sigmoid_grad(out)            # (N, n_out), through the output sigmoid
    d_h = d_z2 @ np.asarray(params["W2"]).T     # (N, n_hidden)
    d_z1 = d_h * sigmoid_grad(h)                # (N, n_hidden), through the hidden sigmoid
    return {"W1": X.T @ d_z1, "b1": d_z1.sum(axis=0),    # a bias is added to every sample:
            "W2": h.T @ d_z2, "b2": d_z2.sum(axis=0)}    # its gradient sums over the batch


def train(params, X, y, lr=0.5, epochs=1000):
    """Full-batch gradient descent, updating `params` in place; the loss before each epoch's step."""
    if int(epochs) != epochs or epochs < 0:
        raise ValueError(f"epochs must be a non-negative integer, got {epochs}")
    history = []
    for _ in range(int(epochs)):
        out, cache = forward(params, X)
        history.append(loss(out, y))
        grads = backward(params, cache, y)
        for key in KEYS:
            params[key] -= lr * grads[key]
    return history


QUIZ_ANSWERS = {"q1": 0.16, "q2": "B", "q3": -0.2, "q4": 1 / 64, "q5": "C"}
