"""GRU reset gate applied before the matrix product, W_hn (r * h) + b_hn (the original paper's GRU).

PyTorch computes r * (W_hn h + b_hn): the gate acts after the product and scales b_hn too.
"""


def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    x, h_prev, W_ih, W_hh, b_ih, b_hh = _cell_arguments(3, x, h_prev, W_ih, W_hh, b_ih, b_hh)
    hidden = h_prev.shape[1]
    x_r, x_z, x_n = np.split(x @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, _ = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
    r = _sigmoid(x_r + h_r)
    z = _sigmoid(x_z + h_z)
    n = np.tanh(x_n + (r * h_prev) @ W_hh[2 * hidden:].T + b_hh[2 * hidden:])
    return (1 - z) * n + z * h_prev
