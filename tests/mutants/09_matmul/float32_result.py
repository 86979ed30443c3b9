"""matmul computes and returns float32 whatever the inputs: float16 products come back in the wrong dtype."""

_reference_matmul = matmul


def matmul(a, b):
    if a.dtype != b.dtype:
        raise ValueError("a and b must share a dtype")
    return _reference_matmul(a.float(), b.float())
