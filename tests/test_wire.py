"""The plain-data codec and its framing: what crosses the sandbox boundary, and what never does."""

from __future__ import annotations

import io
import json
import pickle
import socket
import struct
import threading
import time
from collections import OrderedDict

import numpy as np
import pytest
import torch

from autograder._wire import (
    DEFAULT_LIMITS,
    MAX_DEPTH,
    Limits,
    PeerClosed,
    WireError,
    decode,
    encode,
    recv,
    recv_value,
    send,
    send_value,
)


def round_trip(value, limits: Limits = DEFAULT_LIMITS):
    """Encode, pass the tree through real JSON text (as on the wire), decode."""
    tree, blobs = encode(value, limits)
    text = json.dumps(tree, allow_nan=False)
    return decode(json.loads(text), blobs, limits)


def npy(array: np.ndarray, allow_pickle: bool = False) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=allow_pickle)
    return buffer.getvalue()


def frame(payload: bytes) -> bytes:
    return struct.pack("!Q", len(payload)) + payload


def nested(depth: int) -> list:
    value: list = []
    for _ in range(depth):
        value = [value]
    return value


# --- values that cross -----------------------------------------------------------------

@pytest.mark.parametrize("value", [
    None, True, False, 0, -7, 2**62, 10**30, 1.5, -0.0, float("nan"), float("inf"), float("-inf"),
    "", "héllo ☃ \n\t\"quoted\"", "\ud800",
    [], (), {}, [1, [2.5, [None, "x"]]], (1, (2, ("three",))), [(1, 2), (3,)],
    {1: "int key", "1": "str key", (2, 3): "tuple key", None: 0, 2.5: [1, {"deep": (True,)}]},
    {"nan": float("nan"), "list": [float("inf")], "tuple": (float("-inf"),)},
], ids=repr)
def test_plain_values_round_trip_exactly(value):
    back = round_trip(value)

    assert type(back) is type(value)
    assert repr(back) == repr(value)  # repr tells nan, -0.0, list and tuple apart


@pytest.mark.parametrize("dtype", [np.bool_, np.int8, np.uint8, np.int32, np.int64, np.uint64,
                                   np.float16, np.float32, np.float64, np.complex64, np.complex128])
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4)], ids=str)
def test_arrays_round_trip_with_dtype_and_shape(dtype, shape):
    array = (np.arange(int(np.prod(shape))) % 3).reshape(shape).astype(dtype)

    back = round_trip(array)

    assert type(back) is np.ndarray
    assert (back.dtype, back.shape) == (array.dtype, array.shape)
    np.testing.assert_array_equal(back, array)


@pytest.mark.parametrize("array", [
    np.arange(12.0).reshape(3, 4).T,
    np.arange(10)[::-3],
    np.asfortranarray(np.arange(6).reshape(2, 3)),
    np.array([np.nan, np.inf, -np.inf, -0.0]),
], ids=["transposed", "strided", "fortran", "special floats"])
def test_array_layouts_and_special_values_survive(array):
    np.testing.assert_array_equal(round_trip(array), array)


@pytest.mark.parametrize("scalar", [np.float32(1.5), np.float64(np.nan), np.int64(-3), np.uint8(255),
                                    np.bool_(True), np.complex128(1 - 2j), np.float16(0.25)], ids=repr)
def test_numpy_scalars_come_back_as_the_same_numpy_type(scalar):
    back = round_trip(scalar)

    assert type(back) is type(scalar)
    np.testing.assert_array_equal(back, scalar)


def test_numpy_scalar_dict_keys_round_trip():
    value = {np.int64(3): "three", (1, "a"): np.float32(2.0)}

    assert round_trip(value) == value


@pytest.mark.parametrize("tensor", [
    torch.arange(6, dtype=torch.float32).reshape(2, 3),
    torch.tensor(3.25, dtype=torch.float64),
    torch.tensor([1, -2], dtype=torch.int64),
    torch.tensor([True, False]),
    torch.tensor([0.5, 1.5], dtype=torch.float16),
    torch.arange(6.0).reshape(2, 3).T,
    torch.ones(2, requires_grad=True) * 2,
], ids=["float32", "0-d float64", "int64", "bool", "float16", "transposed", "requires grad"])
def test_tensors_round_trip_as_plain_cpu_tensors(tensor):
    back = round_trip(tensor)

    assert type(back) is torch.Tensor
    assert (back.dtype, back.shape, back.requires_grad) == (tensor.dtype, tensor.shape, False)
    assert torch.equal(back, tensor.detach())
    assert back.origin_device == "cpu"


def test_bfloat16_tensor_comes_back_bfloat16():
    tensor = torch.tensor([1.0, -2.5, 3.0e38], dtype=torch.bfloat16)

    back = round_trip(tensor)

    assert back.dtype == torch.bfloat16
    assert torch.equal(back, tensor)


def test_conjugate_view_tensor_is_sent_resolved():
    tensor = torch.tensor([1 + 2j, 3 - 4j]).conj()

    assert torch.equal(round_trip(tensor), torch.tensor([1 - 2j, 3 + 4j]))


# --- values that are refused ------------------------------------------------------------

class Liar(np.ndarray):
    """An ndarray subclass that could say anything about its contents."""


class MyInt(int):
    pass


class MyFloat(float):
    pass


class MyStr(str):
    pass


@pytest.mark.parametrize(("value", "limits", "message"), [
    (object(), DEFAULT_LIMITS, "builtins.object is not plain data"),
    (np.zeros(3).view(Liar), DEFAULT_LIMITS, "Liar is not plain data"),
    (MyInt(1), DEFAULT_LIMITS, "MyInt is not plain data"),
    (MyFloat(1.0), DEFAULT_LIMITS, "MyFloat is not plain data"),
    (MyStr("s"), DEFAULT_LIMITS, "MyStr is not plain data"),
    ({1, 2}, DEFAULT_LIMITS, "builtins.set is not plain data"),
    (OrderedDict(a=1), DEFAULT_LIMITS, "OrderedDict is not plain data"),
    ([1, (2, {"k": object()})], DEFAULT_LIMITS, "builtins.object is not plain data"),
    (np.array([1, "a"], dtype=object), DEFAULT_LIMITS, "dtype object is not numeric data"),
    (np.array(["text"]), DEFAULT_LIMITS, "is not numeric data"),
    (np.str_("text"), DEFAULT_LIMITS, "is not numeric data"),
    pytest.param(10**5000, DEFAULT_LIMITS, "bit limit", id="huge int"),
    (nested(MAX_DEPTH + 5), DEFAULT_LIMITS, f"nested deeper than {MAX_DEPTH} levels"),
    ([np.zeros(1)] * 3, Limits(blobs=2), "more than 2 arrays"),
    (np.zeros(1000), Limits(blob_bytes=1000), "over the 1000-byte limit"),
    ("x" * 11, Limits(string_chars=10), "a string of 11 characters is over the limit"),
    ({"x" * 11: 1}, Limits(string_chars=10), "a string of 11 characters is over the limit"),
    (torch.eye(2).to_sparse(), DEFAULT_LIMITS, "cannot be sent as an array"),
    (torch.zeros(2, dtype=torch.float8_e4m3fn), DEFAULT_LIMITS, "cannot be sent as an array"),
])
def test_encode_refuses_what_is_not_plain_data(value, limits, message):
    with pytest.raises(WireError, match=message):
        encode(value, limits)


# --- decoding trusts nothing --------------------------------------------------------------

TRIPPED: list[str] = []


def _trip() -> str:
    TRIPPED.append("unpickled")
    return "boom"


class Tripwire:
    """Unpickling this runs `_trip`: proof that a pickle was (or was not) loaded."""

    def __reduce__(self):
        return _trip, ()


PICKLED_NPY = npy(np.array([Tripwire()], dtype=object), allow_pickle=True)


@pytest.mark.parametrize(("tree", "blobs", "message"), [
    ({"t": "ndarray", "i": 0}, [PICKLED_NPY], "not a valid .npy file"),
    ({"t": "scalar", "i": 0}, [PICKLED_NPY], "not a valid .npy file"),
    ({"t": "tensor", "i": 0, "dtype": "float32", "device": "cpu"}, [PICKLED_NPY], "not a valid .npy file"),
    ({"t": "ndarray", "i": 0}, [pickle.dumps(Tripwire())], "not a valid .npy file"),
    ({"t": "ndarray", "i": 0}, [b"not an array"], "not a valid .npy file"),
    ({"t": "ndarray", "i": 0}, [npy(np.array(["text"]))], "not plain numeric data"),
    ({"t": "tensor", "i": 0, "dtype": "float32"}, [npy(np.ones(2, ">f4"))], "not a tensor"),
    ({"t": "exec", "v": "import os"}, [], "unknown tag 'exec'"),
    ({"no": "tag"}, [], "unknown tag 'None'"),
    ({"t": "float", "v": "1e999"}, [], "unknown tag 'float'"),
    ({"t": "ndarray", "i": 1}, [npy(np.ones(1))], "an array that was not sent"),
    ({"t": "ndarray", "i": -1}, [npy(np.ones(1))], "an array that was not sent"),
    ({"t": "ndarray", "i": "0"}, [npy(np.ones(1))], "an array that was not sent"),
    ({"t": "ndarray", "i": True}, [npy(np.ones(1))], "an array that was not sent"),
    ({"t": "dict", "v": [[1]]}, [], "malformed dict entry"),
    ({"t": "dict", "v": [[1, 2, 3]]}, [], "malformed dict entry"),
    ({"t": "dict", "v": [{"k": 1}]}, [], "malformed dict entry"),
    ({"t": "dict", "v": "ab"}, [], "malformed container"),
    ({"t": "tuple", "v": {"a": 1}}, [], "malformed container"),
    ({"t": "dict", "v": [[[1], 2]]}, [], "a dict key that is not a plain scalar"),
    ({"t": "dict", "v": [[{"t": "ndarray", "i": 0}, 2]]}, [npy(np.ones(1))], "not a plain scalar"),
    ({"t": "dict", "v": [[{"t": "tuple", "v": [[1]]}, 2]]}, [], "a dict key that is not hashable"),
    (nested(MAX_DEPTH + 5), [], "nested deeper than"),
])
def test_decode_refuses_malformed_or_hostile_trees(tree, blobs, message):
    with pytest.raises(WireError, match=message):
        decode(tree, blobs)
    assert TRIPPED == []


# --- framing over a real socket pair ------------------------------------------------------

@pytest.fixture
def pair():
    ours, theirs = socket.socketpair()
    yield ours, theirs
    ours.close()
    theirs.close()


def soon(seconds: float = 2.0) -> float:
    return time.monotonic() + seconds


def test_message_with_blobs_crosses_a_socket(pair):
    ours, theirs = pair
    value = {"weights": np.arange(6.0).reshape(2, 3), "bias": torch.ones(3, dtype=torch.bfloat16),
             "meta": ("softmax", float("nan"), [np.int32(4)])}

    send_value(ours, {"op": "call", "name": "softmax"}, value)
    header, back = recv_value(theirs, deadline=soon())

    assert (header["op"], header["name"], header["blobs"]) == ("call", "softmax", 3)
    np.testing.assert_array_equal(back["weights"], value["weights"])
    assert torch.equal(back["bias"], value["bias"])
    assert repr(back["meta"]) == repr(value["meta"])


def test_messages_keep_their_boundaries(pair):
    ours, theirs = pair
    send(ours, {"n": 1}, [b"first"])
    send(ours, {"n": 2})

    assert recv(theirs, deadline=soon()) == ({"n": 1, "blobs": 1}, [b"first"])
    assert recv(theirs, deadline=soon()) == ({"n": 2, "blobs": 0}, [])


@pytest.mark.parametrize(("raw", "limits", "message"), [
    (frame(json.dumps({"pad": "x" * 2000, "blobs": 0}).encode()), Limits(header_bytes=1000),
     "over the 1000-byte limit"),
    (struct.pack("!Q", 2**40), DEFAULT_LIMITS, f"a frame of {2**40} bytes is over"),
    (frame(b'{"blobs": 1}') + struct.pack("!Q", 2**40), DEFAULT_LIMITS, f"a frame of {2**40} bytes is over"),
    (frame(b"not json {"), DEFAULT_LIMITS, "not JSON"),
    (frame(b"\xff\xfe\x00garbage"), DEFAULT_LIMITS, "not JSON"),
    (frame(b"[" * 100_000 + b"]" * 100_000), DEFAULT_LIMITS, "not JSON"),
    (frame(b"[1, 2]"), DEFAULT_LIMITS, "not an object with a blob count"),
    (frame(b'{"blobs": "2"}'), DEFAULT_LIMITS, "not an object with a blob count"),
    (frame(b'{"blobs": -1}'), DEFAULT_LIMITS, "announcing -1 arrays"),
    (frame(b'{"blobs": 5}'), Limits(blobs=4), "announcing 5 arrays"),
], ids=["header over cap", "2**40 header", "2**40 blob", "garbage", "binary", "deep JSON",
        "list header", "string count", "negative count", "too many blobs"])
def test_recv_refuses_broken_frames(pair, raw, limits, message):
    ours, theirs = pair
    ours.sendall(raw)

    with pytest.raises(WireError, match=message):
        recv(theirs, limits, deadline=soon())


@pytest.mark.parametrize("sent", [b"", struct.pack("!Q", 100) + b"only part", struct.pack("!Q", 100)[:3]],
                         ids=["nothing", "half a payload", "half a length"])
def test_peer_that_closes_raises_peer_closed(pair, sent):
    ours, theirs = pair
    ours.sendall(sent)
    ours.close()

    with pytest.raises(PeerClosed):
        recv(theirs, deadline=soon())


def test_peer_that_resets_mid_message_raises_peer_closed(pair):
    ours, theirs = pair
    theirs.sendall(b"never read")  # closing with unread data makes the kernel send a reset
    ours.sendall(struct.pack("!Q", 100) + b"only part")
    ours.close()

    with pytest.raises(PeerClosed):
        recv(theirs, deadline=soon())


def test_silent_peer_hits_the_deadline(pair):
    _ours, theirs = pair
    started = time.monotonic()

    with pytest.raises(TimeoutError):
        recv(theirs, deadline=soon(0.3))
    assert time.monotonic() - started < 0.8


def test_dribbling_peer_still_hits_the_deadline(pair):
    ours, theirs = pair
    message = frame(json.dumps({"pad": "x" * 1000, "blobs": 0}).encode())
    stop = threading.Event()

    def dribble():
        for byte in message:
            if stop.wait(0.02):
                return
            try:
                ours.send(bytes([byte]))
            except OSError:
                return

    dribbler = threading.Thread(target=dribble)
    dribbler.start()
    started = time.monotonic()
    try:
        with pytest.raises(TimeoutError):
            recv(theirs, deadline=soon(0.3))
        assert time.monotonic() - started < 0.8
    finally:
        stop.set()
        dribbler.join()


def test_a_message_whose_arrays_add_up_past_the_budget_is_refused_before_it_is_read():
    limits = Limits(blob_bytes=1 << 20, message_bytes=3 << 20)
    block = b"x" * (1 << 20)
    ours, theirs = socket.socketpair()
    with ours, theirs:
        def send_both():
            send(theirs, {"ok": True}, [block] * 3)  # exactly the budget: fits
            try:
                send(theirs, {"ok": True}, [block] * 4)  # one array past it
            except OSError:
                pass  # the receiver stops reading once it refuses
        threading.Thread(target=send_both, daemon=True).start()

        assert len(recv(ours, limits, deadline=time.monotonic() + 5)[1]) == 3
        with pytest.raises(WireError, match="over the 0-byte limit"):
            recv(ours, limits, deadline=time.monotonic() + 5)
