"""The bias is never updated: only `w += update * x_i`, the `b += update` is forgotten.

The boundary is stuck through the origin, so AND (where (0, 0) must give 0) is
never learned and the weights differ from the rule's.
"""


class BuggyPerceptron(Perceptron):
    def _epoch(self, X, target):
        updated = False
        for x_i, t_i in zip(X, target):
            update = self.learning_rate * (t_i - unit_step(x_i @ self.weights_ + self.bias_))
            self.weights_ += update * x_i
            updated |= update != 0
        return updated


Perceptron = BuggyPerceptron
