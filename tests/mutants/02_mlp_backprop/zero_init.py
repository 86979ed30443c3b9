"""init_params starts every weight at 0: all hidden units compute the same function, get the same
gradient and stay identical (the symmetry is never broken)."""


def init_params(n_in, n_hidden, n_out, seed=0):
    if min(n_in, n_hidden, n_out) < 1:
        raise ValueError(f"layer sizes must be positive, got {(n_in, n_hidden, n_out)}")
    return {"W1": np.zeros((n_in, n_hidden)), "b1": np.zeros(n_hidden),
            "W2": np.zeros((n_hidden, n_out)), "b2": np.zeros(n_out)}
