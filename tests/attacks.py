"""Hostile request bodies, shared by the listener's tests, the HTTP fuzzer and ``bench/attack.py``.

- :func:`gzip_bomb`: a valid gzip stream that inflates to ``inflated`` bytes of zeros (1 GiB
  by default, from about 1 MB), built by repeating one independently flushed deflate block
  instead of compressing a gigabyte, so it takes a fraction of a second.
- :func:`cheap_to_send`: JSON that is costly to decode for its size (``[{},{},...]`` or the
  same array inside an object), exactly ``size`` bytes.
"""

from __future__ import annotations

import functools
import gzip
import struct
import zlib

MIB = 1024 * 1024


@functools.cache
def gzip_bomb(inflated: int = 1024 * MIB) -> bytes:
    """Gzip of ``inflated`` zero bytes (a whole number of MiB)."""
    blocks, rest = divmod(inflated, MIB)
    if not blocks or rest:
        raise ValueError("a gzip bomb is a whole number of MiB")
    zeros = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    # A full flush ends the block on a byte boundary with an empty dictionary: repeatable.
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(zeros, crc)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    final = b"\x03\x00"  # an empty final fixed-Huffman block
    return header + block * blocks + final + struct.pack("<II", crc, inflated & 0xFFFFFFFF)


def cheap_to_send(size: int = MIB, *, wrapped: bool = True) -> bytes:
    """``{"a":[{},{},...]}`` (or the bare array) padded with spaces to exactly ``size`` bytes."""
    head, tail = (b'{"a":[', b"]}") if wrapped else (b"[", b"]")
    count = (size - len(head) - len(tail) + 1) // 3
    body = head + b",".join([b"{}"] * count) + tail
    return body + b" " * (size - len(body))


def gzipped(body: bytes) -> bytes:
    return gzip.compress(body, compresslevel=9)
