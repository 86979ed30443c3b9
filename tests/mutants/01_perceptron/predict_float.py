"""predict returns floats: (X @ w + b >= 0).astype(float), or np.heaviside(z, 1.0).

The right classes, but as 0.0 and 1.0 instead of an int array.
"""


class BuggyPerceptron(Perceptron):
    def predict(self, X):
        return np.heaviside(np.asarray(X, dtype=np.float64) @ self.weights_ + self.bias_, 1.0)


Perceptron = BuggyPerceptron
