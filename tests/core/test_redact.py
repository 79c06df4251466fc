"""Secrets are found in every spelling: in a request path (any segment, any query value, any
case, any percent-encoding, after dot segments) and in any text bound for a log or an answer."""

from __future__ import annotations

import random
import secrets
from urllib.parse import quote, unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from holmtray.core.redact import MASK, PIECE_MASK, Redactor, decoded
from tests.attacks import TOKEN_PLACES, misspelled, token_paths

TOKEN = "Wire-token-0123456789abcdefghijklmnopqrst"
PASSWORD = "pä:ss w/rd#1"
READ_TOKEN = "htr_" + "A1b2C3d4" * 5 + "xyz"


def _leaks(text: str, secret: str = TOKEN) -> list[str]:
    """Which part of ``secret`` can be read in ``text`` (decoded, in any case)."""
    plain = decoded(text).lower()
    half = len(secret) // 2
    parts = {"whole": secret, "first half": secret[:half], "second half": secret[half:]}
    return [name for name, part in parts.items() if part.lower() in plain]


@pytest.mark.parametrize("path", token_paths(TOKEN))
def test_the_attack_paths_are_masked(path: str) -> None:
    masked = Redactor([TOKEN]).path(path)
    assert not _leaks(masked)
    assert masked.endswith(PIECE_MASK)
    assert masked.count("/") == path.count("/")  # the shape is kept for diagnosis


def test_what_follows_hooks_is_masked_even_without_knowing_the_token() -> None:
    r = Redactor(())
    assert r.path("/hooks/guess") == "/hooks/***"
    assert r.path("/HOOKS/guess/more") == "/HOOKS/***/more"
    assert r.path("/api/%68ooks/guess") == "/api/%68ooks/***"


def test_paths_that_hold_no_secret_are_kept() -> None:
    r = Redactor([TOKEN, PASSWORD])
    for path in ("/healthz", "/v1/status", "/v1/stream", "/", "/a/b/c?x=1&y=2", "/hooks", ""):
        assert r.path(path) == path


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(TOKEN_PLACES), st.integers(0, 2**32), st.integers(0, 3))
def test_generated_variants_of_the_token_in_a_path_are_masked(
    place: str, seed: int, encodings: int
) -> None:
    """Case, dot segments, percent-encoding of the token or the slashes, query values, fragments."""
    path = place.format(t=misspelled(TOKEN, random.Random(seed), encodings=encodings))
    masked = Redactor([TOKEN, PASSWORD]).path(path)
    assert not _leaks(masked), (path, masked)
    assert not _leaks(unquote(unquote(masked))), (path, masked)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32))
def test_near_misses_and_halves_are_masked(seed: int) -> None:
    rng = random.Random(seed)
    cut = rng.randrange(12, len(TOKEN) - 12)
    for piece in (TOKEN[:cut], TOKEN[cut:], TOKEN[:-2] + "xx", "xx" + TOKEN[2:]):
        masked = Redactor([TOKEN]).path(f"/api/{piece}/x")
        assert masked == "/api/***/x", (piece, masked)


def test_read_tokens_are_masked_by_their_shape_in_any_spelling() -> None:
    r = Redactor(())
    assert r.path(f"/api/{READ_TOKEN}") == "/api/***"
    assert r.path(f"/api?t={quote(READ_TOKEN.replace('_', '%5F'))}") == "/api?t=***"
    assert r.text(f"bearer {READ_TOKEN} used") == f"bearer {MASK} used"
    assert r.text(f"Bearer {READ_TOKEN.upper()}") == f"Bearer {MASK}"


def test_text_masks_every_spelling_of_each_secret() -> None:
    r = Redactor([TOKEN, PASSWORD])
    spellings = [
        TOKEN,
        TOKEN.upper(),
        TOKEN.lower(),
        quote(TOKEN, safe=""),
        "".join(f"%{ord(c):02x}" for c in TOKEN),
        "".join(f"%25{ord(c):02X}" for c in TOKEN),
        PASSWORD,
        quote(PASSWORD, safe=""),
        quote(PASSWORD, safe="").replace("%20", "+"),
        quote(quote(PASSWORD, safe=""), safe=""),
        PASSWORD.upper(),
    ]
    for s in spellings:
        out = r.text(f'message "{s}" and more')
        assert s not in out, s
        assert MASK in out
        assert not _leaks(out)
        assert "pä:ss" not in decoded(out).lower()


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32), st.text(max_size=20), st.text(max_size=20))
def test_text_masks_generated_spellings_inside_anything(seed: int, before: str, after: str) -> None:
    rng = random.Random(seed)
    token = misspelled(TOKEN, rng, encodings=rng.randrange(0, 3))
    out = Redactor([TOKEN]).text(before + token + after)
    assert not _leaks(out), out


def test_text_without_secrets_is_kept() -> None:
    r = Redactor([TOKEN, PASSWORD])
    line = "rejected POST from 203.0.113.7: 404 not found (holmtray.ingest.listener)"
    assert r.text(line) == line


def test_short_values_are_not_secrets() -> None:
    assert Redactor(["", "abc"]).secrets == ()
    assert Redactor(["abc"]).text("abc abc") == "abc abc"


def test_a_fresh_token_is_never_left_in_a_path_or_a_line() -> None:
    for _ in range(50):
        token = secrets.token_urlsafe(32)
        r = Redactor([token])
        for p in token_paths(token):
            assert token not in r.path(p)
            assert token not in r.text(f"GET {p} HTTP/1.1")
