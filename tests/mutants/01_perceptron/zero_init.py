"""Weights initialised with zeros instead of default_rng(seed).uniform(-1, 1, n_features).

Still learns separable data, but every weight differs from the specified run.
"""


class BuggyPerceptron(Perceptron):
    def _initial_weights(self, n_features):
        return np.zeros(n_features)


Perceptron = BuggyPerceptron
