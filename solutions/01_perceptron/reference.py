"""Reference solution of assignment 01: Rosenblatt's single-layer perceptron.

`X` holds N samples of D features, shape (N, D); `y` their N labels, either
{-1, 1} or {0, 1}: any label > 0 is class 1, every other label class 0.
"""

import numpy as np


def unit_step(x):
    """Heaviside step with step(0) = 1: int array of x's shape, 1 where x >= 0, else 0."""
    return (np.asarray(x, dtype=np.float64) >= 0).astype(np.int64)


def _samples(X, y):
    """Check and convert the training data: X (N, D) float64, y (N,) as given."""
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y)
    if X.ndim != 2 or len(X) == 0:
        raise ValueError(f"X must have shape (N, D) with N >= 1, got {X.shape}")
    if y.ndim != 1:
        raise ValueError(f"y must be a 1-D array of labels, got shape {y.shape}")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} samples but y has {len(y)} labels; they must match")
    return X, y


def _classes(y):
    """Class 1 for every label > 0, class 0 for the others: int array of y's shape."""
    return np.where(y > 0, 1, 0)


class Perceptron:
    """A linear threshold unit, step(w.x + b), trained with the perceptron rule one sample at a time."""

    def __init__(self, learning_rate=0.01, n_iters=1000, seed=1):
        if not learning_rate > 0:
            raise ValueError(f"learning_rate must be positive, got {learning_rate}")
        if int(n_iters) != n_iters or n_iters < 1:
            raise ValueError(f"n_iters must be a positive integer, got {n_iters}")
        self.learning_rate = learning_rate
        self.n_iters = int(n_iters)
        self.seed = seed

    def fit(self, X, y):
        """Learn weights_ (D,) and bias_ from X (N, D) and labels y (N,); returns self."""
        X, y = _samples(X, y)
        target = _classes(y)
        self.weights_ = self._initial_weights(X.shape[1])
        self.bias_ = 0.0
        self.n_epochs_ = 0
        while self.n_epochs_ < self.n_iters:
            self.n_epochs_ += 1
            if not self._epoch(X, target):
                break  # every sample is classified correctly: further epochs change nothing
        return self

    def _initial_weights(self, n_features):
        """Uniform in [-1, 1) from the seeded generator: (n_features,)."""
        return np.random.default_rng(self.seed).uniform(-1, 1, n_features)

    def _epoch(self, X, target):
        """One pass over the samples in order, updating after each; True if any update happened."""
        updated = False
        for x_i, t_i in zip(X, target):
            update = self.learning_rate * (t_i - unit_step(x_i @ self.weights_ + self.bias_))
            self.weights_ += update * x_i
            self.bias_ += update
            updated |= update != 0
        return updated

    def predict(self, X):
        """Class 0 or 1 for each row of X (N, D): int array (N,)."""
        X = np.asarray(X, dtype=np.float64)
        if X.ndim != 2 or X.shape[1] != len(self.weights_):
            raise ValueError(f"X must have shape (N, {len(self.weights_)}), got {X.shape}")
        return unit_step(X @ self.weights_ + self.bias_)


QUIZ_ANSWERS = {"q1": -0.3, "q2": "B", "q3": "C", "q4": -1, "q5": 14}  # the right answer to each quiz question
