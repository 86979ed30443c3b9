"""Plain data across the sandbox boundary: framed JSON plus `.npy` blobs, never pickle.

A message is one JSON header frame followed by `header["blobs"]` binary frames.
Values inside the header are JSON scalars, lists and tagged objects:
``{"t": "tuple", "v": [...]}``, ``{"t": "dict", "v": [[k, v], ...]}``,
``{"t": "float", "v": "nan"}``, ``{"t": "ndarray", "i": blob}``,
``{"t": "scalar", "i": blob}`` and ``{"t": "tensor", "i": blob, "dtype": ..., "device": ...}``.
Arrays are written with ``np.save(allow_pickle=False)`` and read with
``np.load(allow_pickle=False)``; only exact built-in and NumPy types are accepted,
so an object, a subclass that lies about itself or a pickle cannot cross.
"""

from __future__ import annotations

import io
import json
import math
import socket
import struct
import time
from dataclasses import dataclass
from typing import Any

import numpy as np

NUMERIC_KINDS = "biufc"
MAX_DEPTH = 32
MAX_INT_BITS = 14_000  # about 4200 digits: JSON of a longer int trips Python's int-to-str limit


@dataclass(frozen=True)
class Limits:
    """Caps on what one message may hold."""

    header_bytes: int = 4 << 20
    blob_bytes: int = 256 << 20
    blobs: int = 4096
    string_chars: int = 1 << 20
    message_bytes: int = 512 << 20  # all of one message's arrays together


DEFAULT_LIMITS = Limits()


class WireError(Exception):
    """A value that is not plain data, or a message that breaks the protocol."""


class PeerClosed(WireError):
    """The other side closed the connection (it exited or was killed)."""


# --- values -------------------------------------------------------------------

def _type_name(value: Any) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def encode(value: Any, limits: Limits = DEFAULT_LIMITS) -> tuple[Any, list[bytes]]:
    """Turn a plain value into a JSON-able tree and its blobs; refuse anything else."""
    blobs: list[bytes] = []

    def blob(array: np.ndarray) -> int:
        if array.dtype.kind not in NUMERIC_KINDS:
            raise WireError(f"an array of dtype {array.dtype} is not numeric data")
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        data = buffer.getvalue()
        if len(data) > limits.blob_bytes:
            raise WireError(f"an array of {len(data)} bytes is over the {limits.blob_bytes}-byte limit")
        if sum(map(len, blobs)) + len(data) > limits.message_bytes:
            raise WireError(f"arrays of more than {limits.message_bytes} bytes in one value")
        if len(blobs) >= limits.blobs:
            raise WireError(f"more than {limits.blobs} arrays in one value")
        blobs.append(data)
        return len(blobs) - 1

    def walk(item: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
        kind = type(item)
        if item is None or kind is bool:
            return item
        if kind is int:
            if item.bit_length() > MAX_INT_BITS:
                raise WireError(f"an integer of {item.bit_length()} bits is over the {MAX_INT_BITS}-bit limit")
            return item
        if kind is float:
            return item if math.isfinite(item) else {"t": "float", "v": repr(item)}
        if kind is str:
            if len(item) > limits.string_chars:
                raise WireError(f"a string of {len(item)} characters is over the limit")
            return item
        if kind is list:
            return [walk(x, depth + 1) for x in item]
        if kind is tuple:
            return {"t": "tuple", "v": [walk(x, depth + 1) for x in item]}
        if kind is dict:
            return {"t": "dict", "v": [[walk(k, depth + 1), walk(v, depth + 1)] for k, v in item.items()]}
        if kind is np.ndarray:
            return {"t": "ndarray", "i": blob(item)}
        if isinstance(item, np.generic) and kind.__module__ == "numpy":
            return {"t": "scalar", "i": blob(np.asarray(item))}
        if _type_name(item) == "torch.Tensor":
            return _encode_tensor(item, blob)
        raise WireError(
            f"a {_type_name(item)} is not plain data "
            "(return numbers, strings, lists, tuples, dicts, NumPy arrays or torch tensors)"
        )

    return walk(value, 0), blobs


def _encode_tensor(tensor: Any, blob) -> dict:
    import torch

    try:
        plain = tensor.detach().to("cpu").resolve_conj().resolve_neg()
        if plain.dtype == torch.bfloat16:
            plain = plain.to(torch.float32)
        array = plain.contiguous().numpy()
    except (TypeError, RuntimeError, NotImplementedError) as error:  # sparse, float8, meta, ...
        raise WireError(f"a tensor of dtype {tensor.dtype} and layout {tensor.layout} cannot be sent "
                        f"as an array ({str(error)[:100]})") from None
    return {"t": "tensor", "i": blob(array),
            "dtype": str(tensor.dtype).removeprefix("torch."), "device": str(tensor.device)}


def decode(tree: Any, blobs: list[bytes], limits: Limits = DEFAULT_LIMITS) -> Any:
    """Rebuild a value from `encode`'s output, trusting nothing in it."""

    def array(index: Any) -> np.ndarray:
        if type(index) is not int or not 0 <= index < len(blobs):
            raise WireError("a reference to an array that was not sent")
        try:
            loaded = np.load(io.BytesIO(blobs[index]), allow_pickle=False)
        except Exception as error:  # malformed .npy from an untrusted peer
            raise WireError(f"an array that is not a valid .npy file ({error})") from None
        if type(loaded) is not np.ndarray or loaded.dtype.kind not in NUMERIC_KINDS:
            raise WireError("an array that is not plain numeric data")
        return loaded

    def walk(item: Any, depth: int) -> Any:
        if depth > MAX_DEPTH:
            raise WireError(f"value nested deeper than {MAX_DEPTH} levels")
        kind = type(item)
        if item is None or kind in (bool, int, float, str):
            return item
        if kind is list:
            return [walk(x, depth + 1) for x in item]
        if kind is not dict:
            raise WireError(f"unexpected {kind.__name__} in a message")
        tag = item.get("t")
        if tag == "tuple":
            return tuple(walk(x, depth + 1) for x in _list(item.get("v")))
        if tag == "dict":
            return {_key(walk(k, depth + 1)): walk(v, depth + 1) for k, v in map(_pair, _list(item.get("v")))}
        if tag == "float" and item.get("v") in ("nan", "inf", "-inf"):
            return float(item["v"])
        if tag == "ndarray":
            return array(item.get("i"))
        if tag == "scalar":
            return array(item.get("i"))[()]
        if tag == "tensor":
            return _decode_tensor(array(item.get("i")), item.get("dtype"), item.get("device"))
        raise WireError(f"unknown tag {str(tag)[:40]!r} in a message")

    return walk(tree, 0)


def _list(value: Any) -> list:
    if type(value) is not list:
        raise WireError("malformed container in a message")
    return value


def _pair(value: Any) -> list:
    if type(value) is not list or len(value) != 2:
        raise WireError("malformed dict entry in a message")
    return value


def _key(value: Any) -> Any:
    if type(value) not in (str, int, float, bool, tuple) and value is not None and not isinstance(value, np.generic):
        raise WireError("a dict key that is not a plain scalar")
    try:
        hash(value)
    except TypeError:  # a tuple holding a list or an array
        raise WireError("a dict key that is not hashable") from None
    return value


def _decode_tensor(array: np.ndarray, dtype: Any, device: Any) -> Any:
    import torch

    try:
        tensor = torch.from_numpy(array.copy())
    except (TypeError, ValueError) as error:  # a dtype or byte order torch has no tensor for
        raise WireError(f"an array of dtype {array.dtype} that is not a tensor ({str(error)[:100]})") from None
    if dtype == "bfloat16":
        tensor = tensor.to(torch.bfloat16)
    tensor.origin_device = str(device)[:32]  # where the student's tensor lived
    return tensor


# --- frames -------------------------------------------------------------------

_LENGTH = struct.Struct("!Q")


def send(sock: socket.socket, header: dict, blobs: list[bytes] = ()) -> None:
    """Send one message: a JSON header (with the blob count) and its blobs."""
    payload = json.dumps({**header, "blobs": len(blobs)}, allow_nan=False).encode()
    sock.sendall(_LENGTH.pack(len(payload)) + payload)
    for data in blobs:
        sock.sendall(_LENGTH.pack(len(data)))
        sock.sendall(data)


def _wait(sock: socket.socket, deadline: float | None) -> None:
    """Bound the next receive by the deadline (None: wait for ever)."""
    if deadline is None:
        sock.settimeout(None)
        return
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("the deadline passed")
    sock.settimeout(left)


def _recv_exact(sock: socket.socket, size: int, deadline: float | None) -> bytes:
    buffer = bytearray(size)
    view = memoryview(buffer)
    received = 0
    while received < size:
        _wait(sock, deadline)
        try:
            count = sock.recv_into(view[received:], size - received)
        except ConnectionResetError:  # the peer closed with data of ours still unread
            count = 0
        if count == 0:
            raise PeerClosed("the connection closed in the middle of a message")
        received += count
    return bytes(buffer)


def _recv_frame(sock: socket.socket, cap: int, deadline: float | None) -> bytes:
    (size,) = _LENGTH.unpack(_recv_exact(sock, _LENGTH.size, deadline))
    if size > cap:
        raise WireError(f"a frame of {size} bytes is over the {cap}-byte limit")
    return _recv_exact(sock, size, deadline)


def recv(sock: socket.socket, limits: Limits = DEFAULT_LIMITS,
         deadline: float | None = None) -> tuple[dict, list[bytes]]:
    """Receive one message by the deadline (a `time.monotonic()` value).

    Raises PeerClosed when the other side is gone, TimeoutError past the deadline.
    """
    _wait(sock, deadline)
    try:
        first = sock.recv(_LENGTH.size, socket.MSG_PEEK)
    except ConnectionResetError:
        first = b""
    if not first:
        raise PeerClosed("the other side closed the connection")
    try:
        header = json.loads(_recv_frame(sock, limits.header_bytes, deadline))
    except (ValueError, RecursionError) as error:
        raise WireError(f"a message header that is not JSON ({error})") from None
    if type(header) is not dict or type(header.get("blobs")) is not int:
        raise WireError("a message header that is not an object with a blob count")
    if not 0 <= header["blobs"] <= limits.blobs:
        raise WireError(f"a message announcing {header['blobs']} arrays")
    blobs: list[bytes] = []
    budget = limits.message_bytes
    for _ in range(header["blobs"]):
        blobs.append(_recv_frame(sock, min(limits.blob_bytes, budget), deadline))
        budget -= len(blobs[-1])
    return header, blobs


def send_value(sock: socket.socket, header: dict, value: Any, limits: Limits = DEFAULT_LIMITS) -> None:
    tree, blobs = encode(value, limits)
    send(sock, {**header, "value": tree}, blobs)


def recv_value(sock: socket.socket, limits: Limits = DEFAULT_LIMITS,
               deadline: float | None = None) -> tuple[dict, Any]:
    header, blobs = recv(sock, limits, deadline)
    return header, decode(header.get("value"), blobs, limits)
