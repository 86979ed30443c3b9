"""Labels used as given: a -1 label goes straight into y_i - unit_step(...).

Fine for 0/1 labels. With -1/1 labels a correct class-0 sample still gives an
update of -lr and a wrong one -2 lr, so training never stops early.
"""


def _classes(y):
    return y
