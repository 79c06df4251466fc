"""Fuzz target for the webhook parser, run for a bounded time.

The property, for any bytes: :func:`decode_body` returns a dict or raises
:class:`PayloadError` (nothing else); :func:`parse_event` of any dict, whether decoded from the
bytes or built from them with values JSON cannot carry (NaN, huge integers, lone surrogates,
deep nesting), never raises, never falls back to its "parser error" event (it logs that as a
bug), takes under 10 s, and returns a sane :class:`Event`: a non-empty single-line title of at
most ``TITLE_MAX`` characters, a link that is ``None`` or an http(s) URL with a host, and
normalised fields the store can serialise.

Engines: atheris (coverage-guided libFuzzer, when installed: ``pip install atheris``), else a
hypothesis-driven loop. Both start from the sample bodies and the chat-card bodies.

    python tests/fuzz/fuzz_parser.py [--seconds N] [--artifacts DIR]

``--seconds`` defaults to ``HOLMTRAY_FUZZ_SECONDS`` or 20. The last line says how many inputs
ran (``fuzz_parser: N inputs in S s (engine)``); exit 0 means no failure. A failing input is
written to ``--artifacts`` (atheris: ``crash-*``; hypothesis: the falsifying example printed).
``tests/core/parsing/test_fuzz_parser.py`` runs this in CI.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "tests" / "data" / "samples"
CARDS = ROOT / "tests" / "data" / "cards"
sys.path.insert(0, str(ROOT))

try:
    import atheris
except ImportError:  # not every platform has a wheel; the hypothesis loop stands in
    atheris = None

if atheris is not None:
    with atheris.instrument_imports(include=["holmtray"]):
        from holmtray.core import events as events_mod
        from holmtray.core.parsing import decode, parser
else:
    from holmtray.core import events as events_mod
    from holmtray.core.parsing import decode, parser

HOLM_KEYS = [
    "finished_scan",
    "scheduled_scan",
    "ticket",
    "Ticket",
    "Finished Scan",
    "asset",
    "vulnerability",
    "name",
    "status",
    "errors",
    "critical_cnt",
    "high_cnt",
    "medium_cnt",
    "severity",
    "priority",
    "cvss3",
    "CVE ID",
    "cves",
    "number",
    "url",
    "link",
    "title",
    "subject",
    "text",
    "started",
    "finished",
    "starts_at",
    "duration",
    "due_date",
    "ipv4",
    "hostname",
    # chat cards (Teams, Adaptive Cards, Slack, Discord)
    "@context",
    "@type",
    "type",
    "potentialAction",
    "targets",
    "uri",
    "actions",
    "selectAction",
    "facts",
    "fields",
    "value",
    "embeds",
    "title_link",
    "activityImage",
    "body",
    "items",
]
ODD_VALUES: list[Any] = [
    math.nan,
    math.inf,
    -math.inf,
    -0.0,
    10**40,
    -(10**40),
    "\ud800",
    "\u202eevil",
    "a\nb\rc\x0bd\x85e\u2028f",
    "",
    " ",
    "https://sc.holmsecurity.com/scans/view/1",
    "https://sc.holmsecurity.com/logo.png",
    "http://schema.org/extensions",
    "AdaptiveCard",
    "Action.OpenUrl",
    "*Severity:*\nHigh",
    "javascript:alert(1)",
    "http://",
    "x" * 5000,
    True,
    None,
    [],
    {},
]
LINE_BREAKS = "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


class _ParserBug(logging.Handler):
    """``parse_event`` hides its own exceptions behind a fallback event and logs them: fail."""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR:
            raise AssertionError(f"parse_event hit its bug fallback: {record.getMessage()}")


logging.getLogger("holmtray.parsing.parser").addHandler(_ParserBug())
logging.getLogger("holmtray.parsing.parser").propagate = False
logging.raiseExceptions = True


def check_event(payload: dict[str, Any]) -> None:
    started = time.monotonic()
    event = parser.parse_event(payload)
    assert time.monotonic() - started < 10, "parse_event took over 10 s"
    assert isinstance(event, events_mod.Event), type(event)
    title = event.title
    assert isinstance(title, str), repr(title)
    assert title.strip(), repr(title)
    assert not any(ch in title for ch in LINE_BREAKS), repr(title)
    assert len(title) <= parser.TITLE_MAX, len(title)
    if event.link is not None:
        parts = urlsplit(event.link)
        assert parts.scheme in ("http", "https"), event.link
        assert parts.hostname, event.link
        assert len(event.link) <= parser.LINK_MAX
    assert isinstance(event.severity, events_mod.Severity)
    assert isinstance(event.kind, events_mod.Kind)
    events_mod.dumps_compact(event.fields_dict())  # what the store writes must serialise
    assert event.payload is payload


def check_body(data: bytes) -> None:
    try:
        payload = decode.decode_body(data)
    except decode.PayloadError as exc:
        if not str(exc):
            raise AssertionError("a PayloadError must say what is wrong") from exc
        return
    assert isinstance(payload, dict), type(payload)
    check_event(payload)


def build(data: bytes) -> dict[str, Any]:
    """A dict shaped by ``data``: Holm keys, nesting, and values JSON cannot carry."""
    pos = 0

    def take() -> int:
        nonlocal pos
        if pos >= len(data):
            return 0
        pos += 1
        return data[pos - 1]

    def text() -> str:
        n = take() % 24
        raw = bytes(take() for _ in range(n))
        return raw.decode("utf-8", "surrogateescape")

    def value(depth: int) -> Any:
        choice = take() % 8
        if depth > 70:  # deeper than decode_body allows: parse_event must cope all the same
            return None
        if choice == 0:
            return {key(): value(depth + 1) for _ in range(take() % 4)}
        if choice == 1:
            return [value(depth + 1) for _ in range(take() % 4)]
        if choice == 2:
            return ODD_VALUES[take() % len(ODD_VALUES)]
        if choice == 3:
            return (take() - 128) * 10 ** (take() % 25)
        if choice == 4:
            return (take() - 128) / (take() + 1)
        if choice == 5:
            return "https://sc.holmsecurity.com/" + text()
        if choice == 6:
            return take() % 2 == 0
        return text()

    def key() -> str:
        return HOLM_KEYS[take() % len(HOLM_KEYS)] if take() % 4 else text()

    out: dict[str, Any] = {}
    while pos < len(data) and len(out) < 12:
        out[key()] = value(0)
    return out


def one_input(data: bytes) -> None:
    check_body(data)
    check_event(build(data))


def seeds() -> list[bytes]:
    paths = [*sorted(SAMPLES.glob("*.json")), *sorted(CARDS.glob("*.json"))]
    return [p.read_bytes() for p in paths]


def run_atheris(seconds: int, artifacts: Path) -> int:
    assert atheris is not None
    seed_dir = artifacts / "fuzz-seeds"
    seed_dir.mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(seeds()):
        (seed_dir / f"sample-{i}.json").write_bytes(body)
    args = [
        sys.argv[0],
        f"-max_total_time={seconds}",
        "-timeout=10",
        "-max_len=8192",
        "-rss_limit_mb=2048",
        f"-artifact_prefix={artifacts}/fuzz-parser-",
        # Seeds are read, not written: new corpus entries stay in memory.
        f"-seed_inputs={','.join(str(p) for p in sorted(seed_dir.iterdir()))}",
        "-print_final_stats=1",
    ]
    atheris.Setup(args, one_input)
    atheris.Fuzz()  # exits the process: libFuzzer prints "Done N runs in S second(s)"
    return 0


def run_hypothesis(seconds: int) -> int:
    from hypothesis import HealthCheck, given, settings  # noqa: PLC0415 - only this engine
    from hypothesis import strategies as st  # noqa: PLC0415

    count = 0
    bodies = st.one_of(
        st.binary(max_size=2048),
        st.sampled_from(seeds()),
        st.builds(lambda a, b: a + b, st.sampled_from(seeds()), st.binary(max_size=64)),
    )

    @settings(
        max_examples=2000,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(bodies)
    def round_(data: bytes) -> None:
        nonlocal count
        count += 1
        one_input(data)

    started = time.monotonic()
    while time.monotonic() - started < seconds:
        round_()
    elapsed = time.monotonic() - started
    print(f"fuzz_parser: {count} inputs in {elapsed:.1f} s (hypothesis)", flush=True)
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--seconds", type=int, default=int(os.environ.get("HOLMTRAY_FUZZ_SECONDS", "20"))
    )
    ap.add_argument("--artifacts", type=Path, default=ROOT / "artifacts")
    ap.add_argument("--engine", choices=["auto", "atheris", "hypothesis"], default="auto")
    args = ap.parse_args()
    artifacts: Path = args.artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    for body in seeds():  # the samples must pass before anything random does
        one_input(body)
    use_atheris = atheris is not None and args.engine != "hypothesis"
    if args.engine == "atheris" and atheris is None:
        print("fuzz_parser: atheris is not installed", file=sys.stderr)
        return 2
    if use_atheris:
        return run_atheris(args.seconds, artifacts)
    return run_hypothesis(args.seconds)


if __name__ == "__main__":
    sys.exit(main())
