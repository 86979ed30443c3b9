"""matmul hands the work to cuBLAS through torch.matmul: forbidden, found in the source."""


def matmul(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        raise ValueError("bad operands")
    return torch.matmul(a, b)
