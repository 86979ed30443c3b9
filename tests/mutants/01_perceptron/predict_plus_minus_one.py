"""predict converts back to -1/1 labels, like the notes' convert_to_original_labels.

The model is right, but predict must return classes 0 and 1.
"""


class BuggyPerceptron(Perceptron):
    def predict(self, X):
        return np.where(super().predict(X) == 1, 1, -1)


Perceptron = BuggyPerceptron
