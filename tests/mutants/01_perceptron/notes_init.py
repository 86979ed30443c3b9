"""Initial weights copied from the course notes: np.random.seed(seed); np.random.random(n) * 2 - 1.

Same distribution (uniform in [-1, 1)), but the legacy global generator draws
other numbers than default_rng(seed).uniform, so the weights never match.
"""


class BuggyPerceptron(Perceptron):
    def _initial_weights(self, n_features):
        np.random.seed(self.seed)
        return np.random.random(n_features) * 2 - 1


Perceptron = BuggyPerceptron
