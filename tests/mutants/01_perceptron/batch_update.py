"""Updates summed over the epoch and applied once at its end (batch) instead of after each sample.

Every sample of an epoch sees the same weights, so the run (and the weights)
differ from the per-sample rule, although separable data is still learned.
"""


class BuggyPerceptron(Perceptron):
    def _epoch(self, X, target):
        updates = self.learning_rate * (target - unit_step(X @ self.weights_ + self.bias_))
        self.weights_ += updates @ X
        self.bias_ += updates.sum()
        return bool(np.any(updates != 0))


Perceptron = BuggyPerceptron
