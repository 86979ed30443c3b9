"""Reference solution of assignment 09: a tiled matrix multiplication written in Triton.

C = A @ B with A (M, K) and B (K, N), float16 or float32. Each Triton program
computes one (BLOCK_M, BLOCK_N) tile of C by walking K in steps of BLOCK_K,
accumulating tl.dot of an A tile and a B tile in float32. Masks cover the
edges when M, N or K is not a multiple of the tile. Without a GPU the kernel
runs in Triton's interpreter (TRITON_INTERPRET=1), slowly but exactly.
"""

import os

import torch

if not torch.cuda.is_available():
    os.environ["TRITON_INTERPRET"] = "1"  # no GPU: Triton runs each program in NumPy

import triton
import triton.language as tl

GPU_CONFIGS = [  # Hopper-sized tiles; autotuning picks one per (M, N, K) during warm-up
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 256, "BLOCK_K": 64, "GROUP_M": 8}, num_stages=3, num_warps=8),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 64, "GROUP_M": 8}, num_stages=4, num_warps=4),
    triton.Config({"BLOCK_M": 128, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8}, num_stages=4, num_warps=4),
    triton.Config({"BLOCK_M": 64, "BLOCK_N": 128, "BLOCK_K": 32, "GROUP_M": 8}, num_stages=4, num_warps=4),
]
CPU_CONFIGS = [triton.Config({"BLOCK_M": 32, "BLOCK_N": 32, "BLOCK_K": 32, "GROUP_M": 4})]


@triton.autotune(configs=GPU_CONFIGS if torch.cuda.is_available() else CPU_CONFIGS, key=["M", "N", "K"])
@triton.jit
def matmul_kernel(a_ptr, b_ptr, c_ptr, M, N, K, stride_am, stride_ak, stride_bk, stride_bn, stride_cm, stride_cn,
                  BLOCK_M: tl.constexpr, BLOCK_N: tl.constexpr, BLOCK_K: tl.constexpr, GROUP_M: tl.constexpr):
    """One program: the (BLOCK_M, BLOCK_N) tile of C at (pid_m, pid_n), summed over K tiles."""
    # Programs run in groups of GROUP_M tile rows, so that neighbours reuse the same B tiles in L2.
    pid = tl.program_id(0)
    tiles_m, tiles_n = tl.cdiv(M, BLOCK_M), tl.cdiv(N, BLOCK_N)
    group = pid // (GROUP_M * tiles_n)
    first_m = group * GROUP_M
    group_size = min(tiles_m - first_m, GROUP_M)
    pid_m = first_m + (pid % group_size)
    pid_n = (pid % (GROUP_M * tiles_n)) // group_size

    rows = pid_m * BLOCK_M + tl.arange(0, BLOCK_M)      # (BLOCK_M,) rows of A and C
    cols = pid_n * BLOCK_N + tl.arange(0, BLOCK_N)      # (BLOCK_N,) columns of B and C
    ks = tl.arange(0, BLOCK_K)                          # (BLOCK_K,) one step along K
    acc = tl.zeros((BLOCK_M, BLOCK_N), dtype=tl.float32)
    for k0 in range(0, K, BLOCK_K):
        k = k0 + ks
        a = tl.load(a_ptr + rows[:, None] * stride_am + k[None, :] * stride_ak,
                    mask=(rows[:, None] < M) & (k[None, :] < K), other=0.0)    # (BLOCK_M, BLOCK_K)
        b = tl.load(b_ptr + k[:, None] * stride_bk + cols[None, :] * stride_bn,
                    mask=(k[:, None] < K) & (cols[None, :] < N), other=0.0)    # (BLOCK_K, BLOCK_N)
        acc += tl.dot(a, b, input_precision="ieee")     # no TF32: exact fp32 products
    c = acc.to(c_ptr.dtype.element_ty)
    tl.store(c_ptr + rows[:, None] * stride_cm + cols[None, :] * stride_cn, c,
             mask=(rows[:, None] < M) & (cols[None, :] < N))


def matmul(a, b):
    """C = A @ B for A (M, K) and B (K, N) of the same dtype (float16 or float32) and device.

    Returns C (M, N) in that dtype, on that device. Raises ValueError for other shapes or dtypes.
    """
    if a.dim() != 2 or b.dim() != 2 or a.shape[1] != b.shape[0]:
        raise ValueError(f"need a (M, K) and b (K, N), got {tuple(a.shape)} and {tuple(b.shape)}")
    if a.dtype != b.dtype or a.dtype not in (torch.float16, torch.float32):
        raise ValueError(f"a and b must both be float16 or both float32, got {a.dtype} and {b.dtype}")
    if a.device != b.device:
        raise ValueError(f"a and b must be on one device, got {a.device} and {b.device}")
    (m, k), n = a.shape, b.shape[1]
    c = torch.empty((m, n), dtype=a.dtype, device=a.device)

    def grid(meta):
        return (triton.cdiv(m, meta["BLOCK_M"]) * triton.cdiv(n, meta["BLOCK_N"]),)

    matmul_kernel[grid](a, b, c, m, n, k, a.stride(0), a.stride(1), b.stride(0), b.stride(1),
                        c.stride(0), c.stride(1))
    return c


QUIZ_ANSWERS = {"q1": "B", "q2": 64, "q3": "C", "q4": 0.25}  # the right answer to each quiz question
