"""HTTP-level fuzzer for the webhook listener: raw requests at a real ``holmtray serve``.

It starts ``holmtray serve`` (Basic credentials set, 127.0.0.1 a trusted proxy so that
``X-Forwarded-For`` is believed, a 4 KiB body cap, one-second deadlines) and sends it requests
over raw sockets for a bounded time, from several connections at once: well-formed webhooks,
then the same mutated (request lines, header names and values with non-ASCII, non-UTF-8 and
control bytes, odd ``Content-Length``, ``Transfer-Encoding``, ``Content-Encoding``, ``Expect``,
``Authorization`` and ``X-Forwarded-For`` values, truncated and overlong bodies, pipelined
requests, byte-level flips, insertions and cuts) and plain garbage. The properties:

- no answer is a 5xx other than a 503 with ``Retry-After``; every answer is HTTP, and an error
  answer the listener gives is JSON;
- every connection is answered or closed within ``HANG_S`` seconds;
- ``/healthz`` still answers 200 at the end, and ``serve`` exits 0 on SIGTERM;
- ``serve``'s log has no traceback, no ERROR line and no logging error.

    python tests/fuzz/fuzz_http.py [--seconds N] [--seed S] [--artifacts DIR] [--workers W]

``--seconds`` defaults to ``HOLMTRAY_FUZZ_SECONDS`` or 20. The last line says how many requests
ran (``fuzz_http: N requests in S s (seed X)``); exit 0 means no failure. Each failing request
is written to ``--artifacts`` as ``fuzz-http-<seed>-<n>.bin``; the same seed replays the run.
``tests/core/ingest/test_fuzz_http.py`` runs this in CI.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import collections
import json
import os
import random
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.attacks import cheap_to_send, gzip_bomb, gzipped  # noqa: E402
from tests.procs import Proc  # noqa: E402

TOKEN = "Fuzz-http-token-0123456789abcdefghijklmn"
HOOK = f"/hooks/{TOKEN}"
USER, PASSWORD = "holm", "p\u00e4ssword"
MAX_BODY = 4096
HANG_S = 10.0
STATUS_LINE = re.compile(rb"(?:^|\r\n)HTTP/\d\.\d (\d{3}) ")
LOG_PROBLEMS = re.compile(r"Traceback|\bERROR\b|--- Logging error ---|CRITICAL")

ODD_BYTES = [
    b"\x00", b"\t", b"\x0b", b"\x7f", b"\x80", b"\xff", b"\xfe\xff", b"\xc3\xa4", b"\xc3",
    b"\xed\xa0\x80", b"\xc0\xaf", b"\xf0\x9f\x92\xa9", b"\xe2\x80\xae", b"\x1b[31m", b"%",
    b"%00", b"%ff", b"%2F", b"\\", b'"', b",", b";", b"=", b":", b" ", b"  ", b"\r", b"\n",
]  # fmt: skip


def _b64(data: bytes) -> bytes:
    return base64.b64encode(data)


def _creds(user: str, password: str, encoding: str) -> bytes:
    return b"Basic " + _b64(f"{user}:{password}".encode(encoding))


GOOD_AUTH = _creds(USER, PASSWORD, "utf-8")

FAMILIES: dict[bytes, list[bytes]] = {
    b"Authorization": [
        GOOD_AUTH, GOOD_AUTH, _creds(USER, PASSWORD, "latin-1"), _creds(USER, "wrong", "utf-8"),
        b"Basic \xc3\xa4", b"Basic \xe4", b"Basic \xff\xfe", b"Basic " + _b64(b"\xff\xfe:\x80"),
        b"Basic " + _b64(b"no-colon"), b"Basic", b"Basic ", b"Basic ====",
        b"basic " + GOOD_AUTH[6:],
        b"Bearer x", b"Basic \xef\xbc\x91\xef\xbc\x92", b"Basic " + _b64(b"a" * 6000), b"\xc3\xa4",
        b"Basic " + GOOD_AUTH[6:] + b"\xff", b"Digest username=\"\xff\"",
    ],
    b"X-Forwarded-For": [
        b"203.0.113.7", b"2001:db8::1", b"[2001:db8::1]:443", b"192.0.2.1:8080", b"unknown",
        b"\xff\xfe1.2.3.4", b"1.2.3.4\xc3", b"\xed\xa0\x80", b"\xc0\xaf", b"1.2.3.4, \xff",
        b"[\xff]:80", b"\x80" * 300, "\u00e9".encode(), b"1.2.3.4:\xff", b"::ffff:\xff",
        b",,,,", b"", b"1.2.3.4, 127.0.0.1", b"::ffff:192.0.2.1", b"1.2.3.4 " * 500,
        b"\x01\x02", b"\xe2\x80\xae1.2.3.4",
    ],
    b"Content-Encoding": [
        b"gzip", b"deflate", b"br", b"zstd", b"identity", b"Identity", b"gzip, identity",
        b"identity, gzip", b"x-gzip", b"compress", b"*", b"\xff", b"", b",",
    ],
    b"Expect": [
        b"100-continue", b"100-Continue", b"bogus", b"", b"100-continue, 100-continue",
        b"100-continue, bogus", b"\xe4", b"100-continue\xff",
    ],
    b"Transfer-Encoding": [
        b"chunked", b"gzip, chunked", b"chunked, gzip", b"identity", b"Chunked", b" chunked",
        b"xchunked", b"chunked;q=1", b"chunked\xff", b"deflate",
    ],
    b"Content-Length": [
        b"0", b"-1", b"1e3", b" 5", b"5 ", b"+5", b"0x10", b"99999999999999999999", b"10737418240",
        b"4097", b"\xd9\xa3", b"1,1",
    ],
    b"Content-Type": [
        b"application/json", b"application/json; charset=utf-8", b"text/plain",
        b"application/x-www-form-urlencoded", b"multipart/form-data; boundary=x", b"\xff\xfe",
        b"application/json; charset=\xff", b"", b";;;",
    ],
    b"Host": [b"127.0.0.1", b"", b"\xff", b"a" * 9000, b"[::1]:1", b"x\x00y"],
    b"Connection": [b"close", b"keep-alive", b"upgrade", b"Upgrade, HTTP2-Settings", b"\xff"],
    b"Upgrade": [b"websocket", b"h2c", b"\xff", b"HTTP/2.0"],
    b"User-Agent": [b"python-requests/2.8.1", "\u00e9\u00e9".encode(), b"\xff" * 100],
}  # fmt: skip
ODD_METHODS = [
    b"GET", b"HEAD", b"PUT", b"DELETE", b"OPTIONS", b"CONNECT", b"TRACE", b"PATCH", b"post",
    b"BREW", b"P\xc3\x96ST", b"", b"GET GET",
]  # fmt: skip
ODD_VERSIONS = [
    b"HTTP/1.0", b"HTTP/0.9", b"HTTP/2.0", b"HTTP/1.2", b"HTTP/1", b"", b"http/1.1", b"HTTP/1.1 x",
]  # fmt: skip


@dataclass
class Case:
    """One connection's worth of bytes, and how to send them."""

    raw: bytes
    half_close: bool
    head_first: bool  # send the head, wait a moment, then the rest (lets 100-continue happen)


@dataclass
class Tally:
    sent: int = 0
    statuses: collections.Counter[int] = field(default_factory=collections.Counter)
    failures: list[tuple[str, Case]] = field(default_factory=list)


class Generator:
    """Requests from a seeded PRNG: valid, mutated, or garbage."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.n = 0

    def pick(self, items: list[bytes]) -> bytes:
        return self.rng.choice(items)

    def junk(self, max_len: int = 40) -> bytes:
        r = self.rng
        kind = r.random()
        if kind < 0.3:
            return bytes(r.randrange(256) for _ in range(r.randrange(max_len)))
        if kind < 0.6:
            return b"".join(r.choice(ODD_BYTES) for _ in range(r.randrange(1, 6)))
        if kind < 0.9:
            alphabet = b"abcdefghijklmnopqrstuvwxyz0123456789-_./:,;= "
            return bytes(r.choice(alphabet) for _ in range(r.randrange(max_len)))
        return b"x" * r.choice([8190, 8191, 9000, 70000])

    def body(self) -> bytes:
        r = self.rng
        self.n += 1
        kind = r.random()
        if kind < 0.6:
            event = {"finished_scan": {"name": f"scan {self.n}", "status": "Completed"}}
            if r.random() < 0.3:
                event["note"] = self.junk().decode("latin-1")  # type: ignore[assignment]
            return json.dumps(event, ensure_ascii=r.random() < 0.5).encode()
        if kind < 0.7:
            return self.junk(600)
        if kind < 0.8:
            return cheap_to_send(r.choice([100, 2000, MAX_BODY, MAX_BODY + 1]))
        if kind < 0.9:
            return gzipped(json.dumps({"subject": f"gz {self.n}"}).encode())
        return gzip_bomb(1024 * 1024)[: r.choice([10, 1000, MAX_BODY])]

    def request(self) -> bytes:
        r = self.rng
        method = b"POST" if r.random() < 0.85 else self.pick(ODD_METHODS)
        path = r.choice(
            [HOOK.encode()] * 8
            + [
                HOOK.encode() + b"?a=1&b=%ZZ", HOOK.encode() + b"/", b"/hooks/wrong", b"/hooks/",
                b"/healthz", b"/", b"*", b"http://x" + HOOK.encode(), b"127.0.0.1:443",
                b"/" + self.junk(), b"/%" + self.junk(4), b"/" + b"a" * 9000,
            ]
        )  # fmt: skip
        version = b"HTTP/1.1" if r.random() < 0.9 else self.pick(ODD_VERSIONS)
        body = self.body()
        headers: list[tuple[bytes, bytes]] = [(b"Host", b"127.0.0.1")]
        if r.random() < 0.8:
            headers.append((b"Authorization", GOOD_AUTH))
        if r.random() < 0.7:
            headers.append((b"Content-Type", b"application/json"))
        framing = r.random()
        if framing < 0.75:
            headers.append((b"Content-Length", str(len(body)).encode()))
        elif framing < 0.9:
            headers.append((b"Transfer-Encoding", b"chunked"))
            body = self.chunked(body)
        for _ in range(r.choice([0, 0, 1, 1, 2, 3, 6])):
            name = r.choice(list(FAMILIES))
            value = self.pick(FAMILIES[name]) if r.random() < 0.8 else self.junk()
            if r.random() < 0.5:
                headers = [(k, v) for k, v in headers if k.lower() != name.lower()]
            headers.append((name, value))
        if r.random() < 0.15:
            headers.append((self.junk(20) or b"X", self.junk()))
        if r.random() < 0.3:
            headers.append((b"Connection", b"close"))
        r.shuffle(headers)
        head = method + b" " + path + b" " + version + b"\r\n"
        head += b"".join(k + b": " + v + b"\r\n" for k, v in headers) + b"\r\n"
        if r.random() < 0.1:
            body = body[: r.randrange(len(body) + 1)]  # truncated
        elif r.random() < 0.05:
            body += self.junk()  # overlong: the rest reads as a next request
        return head + body

    def chunked(self, body: bytes) -> bytes:
        r = self.rng
        out = b""
        pos = 0
        while pos < len(body):
            n = r.randrange(1, max(2, len(body) - pos + 1))
            size = b"%x" % n
            if r.random() < 0.05:
                size = r.choice([b"-1", b"zz", b"ffffffffffffffffff", b"%x;ext=\xff" % n, b""])
            out += size + b"\r\n" + body[pos : pos + n] + b"\r\n"
            pos += n
        return out + (b"0\r\n\r\n" if r.random() < 0.9 else b"")

    def mutate(self, data: bytes) -> bytes:
        r = self.rng
        buf = bytearray(data)
        for _ in range(r.randrange(1, 6)):
            if not buf:
                break
            at = r.randrange(len(buf))
            op = r.random()
            if op < 0.3:
                buf[at] = r.randrange(256)
            elif op < 0.6:
                buf[at:at] = r.choice(ODD_BYTES)
            elif op < 0.8:
                del buf[at : at + r.randrange(1, 20)]
            else:
                end = min(len(buf), at + r.randrange(1, 40))
                buf[at:at] = buf[at:end]
        return bytes(buf)

    def case(self) -> Case:
        r = self.rng
        kind = r.random()
        if kind < 0.05:
            raw = bytes(r.randrange(256) for _ in range(r.randrange(1, 300)))
        else:
            raw = self.request()
            if kind < 0.25:
                raw = self.mutate(raw)
            if r.random() < 0.1:
                raw += self.request()  # pipelined
        return Case(raw=raw, half_close=r.random() < 0.4, head_first=r.random() < 0.2)


async def exchange(port: int, case: Case) -> bytes:
    """Send ``case``; everything the server answers until it closes (or ``HANG_S`` passes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, limit=1 << 20)
    received = bytearray()
    try:
        async with asyncio.timeout(HANG_S):
            try:
                if case.head_first and b"\r\n\r\n" in case.raw:
                    head, _, rest = case.raw.partition(b"\r\n\r\n")
                    writer.write(head + b"\r\n\r\n")
                    await writer.drain()
                    await asyncio.sleep(0.02)
                    writer.write(rest)
                else:
                    writer.write(case.raw)
                await writer.drain()
                if case.half_close and writer.can_write_eof():
                    writer.write_eof()
            except (OSError, RuntimeError):
                pass  # refused early and closed: what it answered is still to be read
            while True:
                try:
                    chunk = await reader.read(65536)
                except ConnectionError:
                    break
                if not chunk:
                    break
                received += chunk
    finally:
        writer.close()
    return bytes(received)


def check(answer: bytes, case: Case) -> str | None:
    """What is wrong with ``answer`` to ``case``, or None."""
    statuses = [int(m[1]) for m in STATUS_LINE.finditer(answer)]
    if answer and not statuses:
        return f"not an HTTP answer: {answer[:120]!r}"
    if b"Traceback" in answer:
        return "a traceback in the answer"
    for status in statuses:
        if status >= 500 and status != 503:
            return f"answered {status}"
    head, _, body = answer.partition(b"\r\n\r\n")
    while head[8:13] == b" 100 ":  # interim: the final answer follows
        head, _, body = body.partition(b"\r\n\r\n")
    headers = head.decode("latin-1").lower()
    if statuses and statuses[-1] == 503 and "retry-after:" not in headers:
        return "a 503 without Retry-After"
    first = next((s for s in statuses if s >= 200), None)
    if first is not None and first >= 400 and not case.raw.startswith(b"HEAD "):
        if "content-type: application/json" not in headers:
            return f"a {first} that is not JSON: {answer[:200]!r}"
        match = re.search(r"content-length: (\d+)", headers)
        length = int(match[1]) if match else len(body)
        try:
            error = json.loads(body[:length])
        except ValueError:
            return f"a {first} whose body is not JSON: {body[:200]!r}"
        if not isinstance(error, dict) or not isinstance(error.get("error"), str):
            return f"a {first} without an error message: {body[:200]!r}"
    return None


async def run(port: int, seconds: float, seed: int, workers: int) -> Tally:
    gen = Generator(seed)
    tally = Tally()
    stop = time.monotonic() + seconds

    async def worker() -> None:
        while time.monotonic() < stop:
            case = gen.case()
            tally.sent += 1
            try:
                answer = await exchange(port, case)
            except TimeoutError:
                tally.failures.append((f"no answer and no close within {HANG_S:g} s", case))
                continue
            except OSError as exc:
                tally.failures.append((f"cannot connect: {exc}", case))
                await asyncio.sleep(0.1)
                continue
            for m in STATUS_LINE.finditer(answer):
                tally.statuses[int(m[1])] += 1
            problem = check(answer, case)
            if problem:
                tally.failures.append((problem, case))

    await asyncio.gather(*(worker() for _ in range(workers)))
    return tally


async def healthz(port: int) -> int:
    answer = await exchange(
        port, Case(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", False, False)
    )
    m = STATUS_LINE.search(answer)
    return int(m[1]) if m else 0


def write_config(home: Path) -> None:
    (home / "config").mkdir(parents=True)
    (home / "config" / "holmtray.toml").write_text(
        "[listener]\n"
        f'token = "{TOKEN}"\nusername = "{USER}"\npassword = "{PASSWORD}"\n'
        f'trusted_proxies = ["127.0.0.1"]\nmax_body_bytes = {MAX_BODY}\n'
        "read_timeout = 1.0\nheader_timeout = 2.0\nkeepalive_timeout = 2.0\n"
        "rate_per_minute = 0\nmax_connections_per_source = 0\n",
        encoding="utf-8",
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--seconds", type=float, default=float(os.environ.get("HOLMTRAY_FUZZ_SECONDS", "20"))
    )
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--workers", type=int, default=16)
    ap.add_argument("--artifacts", type=Path, default=ROOT / "artifacts")
    args = ap.parse_args()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(2**32)
    artifacts: Path = args.artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="holmtray-fuzz-http-") as tmp:
        home = Path(tmp) / "home"
        write_config(home)
        proc = Proc(home, "serve", "--port", "0")
        try:
            port = proc.port()
            started = time.monotonic()
            tally = asyncio.run(run(port, args.seconds, seed, args.workers))
            elapsed = time.monotonic() - started
            health = asyncio.run(healthz(port))
        finally:
            rc = proc.stop()
        log = proc.output()
    problems = [(reason, case) for reason, case in tally.failures]
    if health != 200:
        problems.append((f"/healthz answered {health} after the run", Case(b"", False, False)))
    if rc != 0:
        problems.append((f"serve exited {rc} on SIGTERM", Case(b"", False, False)))
    bad_lines = [line for line in log.splitlines() if LOG_PROBLEMS.search(line)]
    for n, (reason, case) in enumerate(problems[:20]):
        path = artifacts / f"fuzz-http-{seed}-{n}.bin"
        path.write_bytes(case.raw)
        print(f"FAIL {reason}\n  request ({path}): {case.raw[:300]!r}", file=sys.stderr)
    if bad_lines:
        (artifacts / f"fuzz-http-{seed}-serve.log").write_text(log, encoding="utf-8")
        print("FAIL serve's log:\n" + "\n".join(bad_lines[:40]), file=sys.stderr)
    counts = ", ".join(f"{s}: {n}" for s, n in sorted(tally.statuses.items()))
    print(f"fuzz_http: answers {counts}", flush=True)
    print(
        f"fuzz_http: {tally.sent} requests in {elapsed:.1f} s (seed {seed}); "
        f"{len(problems)} failures, {len(bad_lines)} log problems",
        flush=True,
    )
    return 1 if problems or bad_lines else 0


if __name__ == "__main__":
    sys.exit(main())
