"""No early stop: all n_iters epochs always run, as in the course notes' loop.

The weights are the same (epochs without updates change nothing), but n_epochs_
is always n_iters.
"""


class BuggyPerceptron(Perceptron):
    def fit(self, X, y):
        X, y = _samples(X, y)
        target = _classes(y)
        self.weights_ = self._initial_weights(X.shape[1])
        self.bias_ = 0.0
        for _ in range(self.n_iters):
            self._epoch(X, target)
        self.n_epochs_ = self.n_iters
        return self


Perceptron = BuggyPerceptron
