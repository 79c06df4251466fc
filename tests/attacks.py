"""Hostile requests, shared by the listener's tests, the HTTP fuzzer and ``bench/attack.py``.

- :func:`gzip_bomb`: a valid gzip stream that inflates to ``inflated`` bytes of zeros (1 GiB
  by default, from about 1 MB), built by repeating one independently flushed deflate block
  instead of compressing a gigabyte, so it takes a fraction of a second.
- :func:`cheap_to_send`: JSON that is costly to decode for its size (``[{},{},...]`` or the
  same array inside an object), exactly ``size`` bytes.
- :data:`TOKEN_PATHS`: the paths with which the attack run of issue 12 got the live token
  stored in the rejected-requests log; :func:`token_path_variants` adds generated ones (the
  token in other places of the path, query and fragment, in other letter cases and
  percent-encoded once or twice, slashes encoded, dot segments).
"""

from __future__ import annotations

import functools
import gzip
import random
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


TOKEN_PATHS = ("/api/hooks/{t}", "//hooks/{t}", "/hooks//{t}", "/HOOKS/{t}", "/x/../hooks/{t}")
TOKEN_PLACES = (
    *TOKEN_PATHS,
    "/Api/HOOKS/{t}",
    "/./hooks/./{t}",
    "/a/b/../../hooks/{t}",
    "/x/%2e%2e/hooks/{t}",
    "/%68ooks/{t}",
    "/hooks%2F{t}",
    "/api%2fhooks%2f{t}",
    "/hooks%252F{t}",
    "/x?token={t}",
    "/x?a=1&b=pre{t}post",
    "/hooks/{t}?again={t}",
    "/x#{t}",
    "/hooks/{t}#{t}",
    "/x;{t}",
    "/{t}",
    "/x/{t}/y",
)
"""Where a token can stand in a request target; ``{t}`` is the token, however spelled."""


def misspelled(token: str, rng: random.Random, *, encodings: int = 1) -> str:
    """``token`` with some letters in the other case and some characters percent-encoded
    ``encodings`` times (0: none)."""
    out = []
    for char in token:
        piece = char.swapcase() if rng.random() < 0.2 else char
        if encodings and rng.random() < 0.3:
            piece = "".join(f"%{b:02X}" for b in piece.encode())
            for _ in range(encodings - 1):
                piece = piece.replace("%", "%25")
            piece = piece.lower() if rng.random() < 0.5 else piece
        out.append(piece)
    return "".join(out)


def token_paths(token: str) -> list[str]:
    return [p.format(t=token) for p in TOKEN_PATHS]


def token_path_variants(token: str, n: int, *, seed: int = 12) -> dict[str, str]:
    """The attack paths, then ``n`` generated ones, by name."""
    rng = random.Random(seed)
    variants = {f"attack path {p}": p.format(t=token) for p in TOKEN_PATHS}
    for i in range(n):
        spelled = misspelled(token, rng, encodings=rng.choice((0, 1, 1, 2)))
        variants[f"variant {i}"] = rng.choice(TOKEN_PLACES).format(t=spelled)
    return variants
