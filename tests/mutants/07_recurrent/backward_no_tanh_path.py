"""Backward pass without the path from h through tanh(c): dc is used as it arrives.

c reaches the loss directly and through h = o * tanh(c); the term dh * o * (1 - tanh(c)^2)
is missing, so the gradients are right only when dh = 0.
"""


def lstm_cell_backward(dh, dc, cache):
    i, f, g, o, c = (cache[key] for key in ("i", "f", "g", "o", "c"))
    dh, dc = np.asarray(dh, dtype=np.float64), np.asarray(dc, dtype=np.float64)
    tanh_c = np.tanh(c)
    da = np.concatenate([dc * g * i * (1 - i), dc * cache["c_prev"] * f * (1 - f),
                         dc * i * (1 - g ** 2), dh * tanh_c * o * (1 - o)], axis=1)
    db = da.sum(axis=0)
    return {"x": da @ cache["W_ih"], "h_prev": da @ cache["W_hh"], "c_prev": dc * f,
            "W_ih": da.T @ cache["x"], "W_hh": da.T @ cache["h_prev"], "b_ih": db, "b_hh": db.copy()}
