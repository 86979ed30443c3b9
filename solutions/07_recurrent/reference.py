"""Reference solution of assignment 07: LSTM and GRU cells in PyTorch's layout.

A batch `x (N, I)` of inputs and a state `h_prev (N, H)` (and `c_prev (N, H)` for
the LSTM) go in. The gates' weights are stacked by rows as in `torch.nn`:
`W_ih (G*H, I)`, `W_hh (G*H, H)`, `b_ih, b_hh (G*H,)`, with G = 4 gates in the
order i, f, g, o for the LSTM and G = 3 gates in the order r, z, n for the GRU.
"""

import numpy as np


def _sigmoid(a):
    """1 / (1 + exp(-a)) written as exp(-log(1 + exp(-a))): no exp overflows for any a."""
    return np.exp(-np.logaddexp(0.0, -a))


def _cell_arguments(gates, x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """The arguments of a cell with `gates` stacked gates as float64 arrays, or ValueError."""
    x, h_prev, W_ih, W_hh, b_ih, b_hh = (np.asarray(a, dtype=np.float64) for a in (x, h_prev, W_ih, W_hh, b_ih, b_hh))
    if x.ndim != 2 or h_prev.ndim != 2 or len(x) != len(h_prev):
        raise ValueError(f"x and h_prev must have shapes (N, I) and (N, H) with the same N, "
                         f"got {x.shape} and {h_prev.shape}")
    rows = gates * h_prev.shape[1]
    expected = {"W_ih": (rows, x.shape[1]), "W_hh": (rows, h_prev.shape[1]), "b_ih": (rows,), "b_hh": (rows,)}
    for (name, shape), array in zip(expected.items(), (W_ih, W_hh, b_ih, b_hh)):
        if array.shape != shape:
            raise ValueError(f"{name} must have shape {shape} ({gates} gates of hidden size {h_prev.shape[1]}, "
                             f"input size {x.shape[1]}), got {array.shape}")
    return x, h_prev, W_ih, W_hh, b_ih, b_hh


def _lstm_gates(a):
    """Pre-activations a (N, 4H) -> gates i, f, g, o, each (N, H)."""
    a_i, a_f, a_g, a_o = np.split(a, 4, axis=1)
    return _sigmoid(a_i), _sigmoid(a_f), np.tanh(a_g), _sigmoid(a_o)


def lstm_cell(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, return_cache=False):
    """One LSTM step: (h, c), each (N, H); with return_cache=True also a dict of arrays for the backward pass."""
    x, h_prev, W_ih, W_hh, b_ih, b_hh = _cell_arguments(4, x, h_prev, W_ih, W_hh, b_ih, b_hh)
    c_prev = np.asarray(c_prev, dtype=np.float64)
    if c_prev.shape != h_prev.shape:
        raise ValueError(f"c_prev must have the shape of h_prev {h_prev.shape}, got {c_prev.shape}")
    i, f, g, o = _lstm_gates(x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)
    c = f * c_prev + i * g
    h = o * np.tanh(c)
    if not return_cache:
        return h, c
    return h, c, dict(x=x, h_prev=h_prev, c_prev=c_prev, W_ih=W_ih, W_hh=W_hh, i=i, f=f, g=g, o=o, c=c)


def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """One GRU step in PyTorch's formulation: the new h, (N, H)."""
    x, h_prev, W_ih, W_hh, b_ih, b_hh = _cell_arguments(3, x, h_prev, W_ih, W_hh, b_ih, b_hh)
    x_r, x_z, x_n = np.split(x @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
    r = _sigmoid(x_r + h_r)
    z = _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)  # r scales W_hn h + b_hn, after the matrix product
    return (1 - z) * n + z * h_prev


def lstm_forward(xs, h0, c0, W_ih, W_hh, b_ih, b_hh):
    """Run lstm_cell over xs (T, N, I) from (h0, c0): hs (T, N, H) and the last state (h_T, c_T)."""
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 3 or len(xs) == 0:
        raise ValueError(f"xs must have shape (T, N, I) with T >= 1, got {xs.shape}")
    h, c = h0, c0
    hs = []
    for x in xs:
        h, c = lstm_cell(x, h, c, W_ih, W_hh, b_ih, b_hh)
        hs.append(h)
    return np.stack(hs), (h, c)


def lstm_cell_backward(dh, dc, cache):
    """Gradients of sum(h * dh + c * dc) for one lstm_cell step, from its cache.

    dh, dc (N, H): the loss's gradients with respect to the step's outputs h and c.
    Returns a dict with keys x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, each shaped like that argument.
    """
    i, f, g, o, c = (cache[key] for key in ("i", "f", "g", "o", "c"))
    dh, dc = np.asarray(dh, dtype=np.float64), np.asarray(dc, dtype=np.float64)
    if dh.shape != c.shape or dc.shape != c.shape:
        raise ValueError(f"dh and dc must have the shape of the cell's output {c.shape}, got {dh.shape} and {dc.shape}")
    tanh_c = np.tanh(c)
    dc = dc + dh * o * (1 - tanh_c ** 2)  # c reaches the loss directly and through h = o * tanh(c)
    da = np.concatenate([dc * g * i * (1 - i),                 # input gate, sigmoid' = s (1 - s)
                         dc * cache["c_prev"] * f * (1 - f),   # forget gate
                         dc * i * (1 - g ** 2),                # cell candidate, tanh' = 1 - tanh^2
                         dh * tanh_c * o * (1 - o)], axis=1)   # output gate; da (N, 4H)
    db = da.sum(axis=0)
    return {"x": da @ cache["W_ih"], "h_prev": da @ cache["W_hh"], "c_prev": dc * f,
            "W_ih": da.T @ cache["x"], "W_hh": da.T @ cache["h_prev"], "b_ih": db, "b_hh": db.copy()}


QUIZ_ANSWERS = {"q1": "C", "q2": 0.9 ** 20, "q3": 680, "q4": "B", "q5": "D"}  # the right answer to each quiz question
