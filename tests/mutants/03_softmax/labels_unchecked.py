"""No argument checks on the batch: logits and labels go straight into fancy indexing.

Label -1 silently picks the last class, and the other bad arguments raise
IndexError (or nothing) instead of ValueError.
"""


def _batch(logits, labels):
    return np.asarray(logits, dtype=np.float64), np.asarray(labels)
