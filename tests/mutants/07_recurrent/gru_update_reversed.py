"""GRU update gate reversed, h = z * n + (1 - z) * h_prev: the notes' Gamma_u convention, not PyTorch's z.

In PyTorch z weights the old state (z = 1 keeps h_prev); here it weights the candidate.
"""


def gru_cell(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    x, h_prev, W_ih, W_hh, b_ih, b_hh = _cell_arguments(3, x, h_prev, W_ih, W_hh, b_ih, b_hh)
    x_r, x_z, x_n = np.split(x @ W_ih.T + b_ih, 3, axis=1)
    h_r, h_z, h_n = np.split(h_prev @ W_hh.T + b_hh, 3, axis=1)
    r = _sigmoid(x_r + h_r)
    z = _sigmoid(x_z + h_z)
    n = np.tanh(x_n + r * h_n)
    return z * n + (1 - z) * h_prev
