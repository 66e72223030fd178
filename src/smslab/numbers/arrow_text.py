"""String helpers over Arrow arrays that `pyarrow.compute` lacks or does slowly.

Example:
    >>> import pyarrow as pa
    >>> digits_only(pa.array(["06 12-34", "+33 (0)6"])).to_pylist()
    ['061234', '3306']
    >>> slice_from(pa.array(["0612", "+336"]), np.array([1, 3])).to_pylist()
    ['612', '6']
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def slice_from(arr: pa.Array, starts: np.ndarray) -> pa.Array:
    """Each ASCII string from its own start offset (numpy over Arrow's buffers)."""
    n = len(arr)
    if n == 0:
        return arr
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: n + 1]
    data = (
        np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if arr.buffers()[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    lengths = np.diff(offsets)
    cut = np.minimum(np.asarray(starts, dtype=np.int64), lengths)
    owner = np.repeat(np.arange(n), lengths)
    position = np.arange(len(data)) - (offsets[:-1] - offsets[0])[owner]
    keep = position >= cut[owner]
    new_offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(lengths - cut, out=new_offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(new_offsets), pa.py_buffer(data[keep].tobytes()))


def digits_only(arr: pa.Array) -> pa.Array:
    """The ASCII digits of each string (numpy over Arrow's UTF-8 buffer; multi-byte characters
    never contain ASCII bytes, so this equals removing every non-digit character)."""
    if arr.null_count:
        arr = arr.fill_null("")
    arr = pa.concat_arrays([arr]) if arr.offset else arr
    if len(arr) == 0:
        return pa.array([], type=pa.string())
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int32)[: len(arr) + 1]
    data = (
        np.frombuffer(arr.buffers()[2], dtype=np.uint8)[offsets[0] : offsets[-1]]
        if arr.buffers()[2] is not None
        else np.zeros(0, dtype=np.uint8)
    )
    keep = (data >= 48) & (data <= 57)
    kept = np.zeros(len(data) + 1, dtype=np.int32)
    np.cumsum(keep.view(np.uint8), dtype=np.int32, out=kept[1:])
    new_offsets = kept[offsets - offsets[0]]
    return pa.StringArray.from_buffers(len(arr), pa.py_buffer(new_offsets), pa.py_buffer(data[keep].tobytes()))


def as_objects(arr: pa.Array) -> np.ndarray:
    return np.asarray(arr.to_numpy(zero_copy_only=False), dtype=object)


def utf8_lengths(arr: pa.Array) -> np.ndarray:
    return pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)


def choose(mask: np.ndarray, a: pa.Array, b: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask, type=pa.bool_()), a, b)


def prefix_lookup(digits: pa.Array, keys: pa.Array, longest: int) -> np.ndarray:
    """Index into `keys` of the longest prefix of each string found there (-1: none)."""
    n = len(digits)
    found = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    for length in range(longest, 0, -1):
        if len(todo) == 0:
            break
        sub = digits if len(todo) == n else digits.take(pa.array(todo))
        prefix = pc.utf8_slice_codeunits(sub, 0, length)
        hit = pc.fill_null(pc.index_in(prefix, value_set=keys), -1).to_numpy(zero_copy_only=False).astype(np.int64)
        got = hit >= 0
        found[todo[got]] = hit[got]
        todo = todo[~got]
    return found
