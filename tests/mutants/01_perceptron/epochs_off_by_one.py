"""n_epochs_ counts only the epochs that made an update, not the final clean one.

`for epoch in range(n_iters): ... if no update: n_epochs_ = epoch; break`: the
weights are right, the count is one short whenever training stops early.
"""


class BuggyPerceptron(Perceptron):
    def fit(self, X, y):
        X, y = _samples(X, y)
        target = _classes(y)
        self.weights_ = self._initial_weights(X.shape[1])
        self.bias_ = 0.0
        self.n_epochs_ = self.n_iters
        for epoch in range(self.n_iters):
            if not self._epoch(X, target):
                self.n_epochs_ = epoch
                break
        return self


Perceptron = BuggyPerceptron
