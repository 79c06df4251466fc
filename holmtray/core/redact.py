"""Finding secrets in text however they are spelled, so that none is ever written down.

A :class:`Redactor` knows the secrets of one process (the webhook token, the Basic password)
and finds them:

- in a request path or query (:meth:`Redactor.path`, for the rejected-requests log): the
  path is cut into pieces at ``/ \\ ? & = ; #``, and a piece is replaced by ``***`` whole when,
  percent-decoded (as often as it decodes) and in lower case, it contains any
  :data:`GRAM`-character run of a secret — the secret itself in any letter case or escaping,
  inside anything, or a near miss — or is shaped like a relay read token (``htr_…``); the
  piece after a ``hooks`` piece is always masked, since whatever is there is meant to be a
  token;
- in any text (:meth:`Redactor.text`, for every log line and answer): each secret in any letter
  case with any of its characters percent-encoded, once or more, becomes ``<redacted>``; then
  every word that contains a :data:`GRAM`-character run of a secret, or a read token's shape.
  :meth:`Redactor.clean` adds :func:`~holmtray.core.text.printable`: what a log line holds.

A hand-set secret that shares a :data:`GRAM`-character run with ordinary words masks those
words too; that is the price of never writing half a token down.

The relay's read tokens are secrets too, but the relay keeps only their hashes; no code logs a
bearer value, and the ``htr_`` shape is masked everywhere as the second line of defence.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import unquote

from holmtray.core.text import printable

MASK = "<redacted>"
PIECE_MASK = "***"
GRAM = 10
"""A piece of text that shares this many consecutive characters with a secret is masked."""
MIN_SECRET = 4
"""Shorter values are not secrets worth finding (an empty password, a one-letter test)."""

READ_TOKEN_SHAPE = re.compile(r"htr_[A-Za-z0-9_-]{6,}", re.IGNORECASE)
_PIECES = re.compile(r"([/\\?&=;#]+)")
_WORDS = re.compile(r"""[^\s/\\?&=;#"'`,<>()\[\]{}|]+""")
_HOOKS = "hooks"
_MAX_DECODES = 8


def decoded(piece: str) -> str:
    """``piece`` percent-decoded until it no longer changes (``%2574`` → ``%74`` → ``t``)."""
    for _ in range(_MAX_DECODES):
        plain = unquote(piece, errors="surrogateescape")
        if plain == piece:
            break
        piece = plain
    return piece


def _spelling(secret: str) -> str:
    """A pattern for ``secret`` with each character literal or percent-encoded (at any depth)."""
    parts = []
    for char in secret:
        options = [re.escape(char)]
        options.append("".join(f"%(?:25)*{b:02X}" for b in char.encode("utf-8", "surrogatepass")))
        if char == " ":
            options.append(r"\+")
        parts.append("(?:" + "|".join(options) + ")")
    return "".join(parts)


class Redactor:
    """Masks a fixed set of secrets, in every spelling, in paths and in text."""

    __slots__ = ("_grams", "_pattern", "secrets")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self.secrets = self.secrets_of(secrets)
        self._pattern = (
            re.compile("|".join(_spelling(s) for s in self.secrets), re.IGNORECASE)
            if self.secrets
            else None
        )
        grams: set[str] = set()
        for secret in self.secrets:
            low = secret.lower()
            size = min(GRAM, len(low))
            grams.update(low[i : i + size] for i in range(len(low) - size + 1))
        self._grams = frozenset(grams)

    @staticmethod
    def secrets_of(secrets: Iterable[str]) -> tuple[str, ...]:
        """The secrets worth finding, longest first (one that contains another is masked whole)."""
        return tuple(
            sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=lambda s: (-len(s), s))
        )

    def touches(self, piece: str) -> bool:
        """Whether ``piece`` (a path segment, a query value, a word) must not be written down."""
        plain = decoded(piece)
        if READ_TOKEN_SHAPE.search(plain):
            return True
        low = plain.lower()
        return any(gram in low for gram in self._grams)

    def path(self, path: str) -> str:
        """``path`` (query and fragment included, if any) with every secret-bearing piece
        written ``***``."""
        parts = _PIECES.split(path)
        after_hooks = False
        for i in range(0, len(parts), 2):
            piece = parts[i]
            if not piece:
                continue
            if after_hooks or self.touches(piece):
                parts[i] = PIECE_MASK
            after_hooks = decoded(piece).lower() == _HOOKS
        return "".join(parts)

    def text(self, text: str) -> str:
        """``text`` with each secret, in any spelling, and each word that touches one masked."""
        if self._pattern is not None:
            text = self._pattern.sub(MASK, text)
        text = READ_TOKEN_SHAPE.sub(MASK, text)
        if not self._grams:
            return text
        return _WORDS.sub(lambda m: MASK if self.touches(m[0]) else m[0], text)

    def clean(self, text: str) -> str:
        """``text`` masked (:meth:`text`), then made printable: safe for one log line."""
        return printable(self.text(text))
