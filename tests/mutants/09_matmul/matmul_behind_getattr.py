"""torch.matmul reached through getattr on a computed name: invisible to the static scan,
refused by the guard while matmul runs."""


def matmul(a, b):
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0] or a.dtype != b.dtype:
        raise ValueError("bad operands")
    return getattr(torch, "mat" + "mul")(a, b)
