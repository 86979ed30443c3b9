"""tanh' taken as 1 - tanh instead of 1 - tanh^2, both for tanh(c) and for the candidate g."""


def lstm_cell_backward(dh, dc, cache):
    i, f, g, o, c = (cache[key] for key in ("i", "f", "g", "o", "c"))
    dh, dc = np.asarray(dh, dtype=np.float64), np.asarray(dc, dtype=np.float64)
    tanh_c = np.tanh(c)
    dc = dc + dh * o * (1 - tanh_c)
    da = np.concatenate([dc * g * i * (1 - i), dc * cache["c_prev"] * f * (1 - f),
                         dc * i * (1 - g), dh * tanh_c * o * (1 - o)], axis=1)
    db = da.sum(axis=0)
    return {"x": da @ cache["W_ih"], "h_prev": da @ cache["W_hh"], "c_prev": dc * f,
            "W_ih": da.T @ cache["x"], "W_hh": da.T @ cache["h_prev"], "b_ih": db, "b_hh": db.copy()}
