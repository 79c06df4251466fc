"""Chat-card shapes inside custom payloads: where their links, facts and metadata sit.

People point Holm's custom webhook at templates written for chat tools: Teams MessageCards
(``potentialAction[].targets[].uri``, ``sections[].facts[]``), Adaptive Cards (``actions[]``
``Action.OpenUrl``, ``selectAction``, ``FactSet.facts[]``), Slack blocks and attachments
(buttons, ``title_link``, ``fields[]``) and Discord embeds (``embeds[].url``, ``fields[]``).
Their first URL is seldom the one to open: it is often JSON-LD metadata (``@context``) or an
icon. This module holds the tables that tell those apart, as small pure functions the parser's
breadth-first walk over a custom payload calls: the context of each container (below), the
role of a string for links (:func:`link_role`), the rank of a URL (:func:`url_rank`: a
Security Center host before any other; pictures and schema URLs never), the fact names that
name an asset (:data:`ASSET_LABELS`), how a fact is written down (:func:`clean_label`,
:func:`split_field_text`, :func:`clean_fact_text`, :func:`leading_word`) and an Adaptive
Card's heading (:func:`card_heading`). Converting values (severity words, CVSS scores) stays
in the parser; nothing here imports it.

The walk gives every container a *context*, decided from the key it sits under and its
``type``, and inherited by list items:

* :data:`ACTION` -- an action or button (``potentialAction``, ``actions``, ``selectAction``,
  ``accessory``, ``components``, ``buttons``, ``type: button``); its ``url``/``uri``/``target``
  is an action target.
* :data:`TARGETS` -- a MessageCard ``targets``/``target`` list; its strings and ``uri`` values
  are action targets.
* :data:`EMBED` -- a Discord embed; its own ``url`` is the link the card opens.
* :data:`ROWS` -- a list of facts/fields (``{name, value}`` or Slack's ``*Severity:* High``).
* :data:`SKIP` -- metadata or pictures (``@context``, ``$schema``, ``activityImage``,
  ``thumbnail``, an Adaptive ``Image``, an ``HttpPOST`` action): no link comes from inside.
* :data:`PLAIN` -- everything else.

Button labels, fact names and picture captions are not titles: only :data:`PLAIN` and
:data:`EMBED` containers offer title candidates (:func:`offers_titles`).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

__all__ = [
    "ACTION",
    "ASSET_KEYS",
    "ASSET_LABELS",
    "EMBED",
    "NO_LINK",
    "PLAIN",
    "RANK_ACTION",
    "RANK_OTHER",
    "RANK_SECURITY_CENTER",
    "ROWS",
    "SKIP",
    "TARGET",
    "TARGETS",
    "TEXT",
    "card_heading",
    "child_context",
    "clean_fact_text",
    "clean_label",
    "is_adaptive_card",
    "leading_word",
    "link_role",
    "offers_titles",
    "split_field_text",
    "url_rank",
]

# Contexts, in the order offers_titles() relies on.
PLAIN = 0
EMBED = 1
ROWS = 2
ACTION = 3
TARGETS = 4
SKIP = 5

# What a string in a container may be, as far as links go (link_role()).
TARGET = 0
"""The whole string should be the URL an action opens."""
TEXT = 1
"""Any text: URLs inside it are ordinary candidates."""
NO_LINK = 2
"""Metadata or a picture: no URL is taken from it."""

# Link ranks, best first (url_rank() and the walk).
RANK_ACTION = 0
RANK_SECURITY_CENTER = 1
RANK_OTHER = 2

# Keys (normalised, as the parser's key normaliser writes them) holding actions or targets.
# ("components": Discord's buttons; "buttons": Google Chat's, whose URL sits in onClick.openLink.)
_ACTION_CONTAINERS = frozenset(
    {"potential_action", "actions", "select_action", "accessory", "components", "buttons"}
)
_TARGET_CONTAINERS = frozenset({"targets", "target"})
_ROW_CONTAINERS = frozenset({"facts", "fields"})
_EMBED_CONTAINERS = frozenset({"embeds"})
# In an action, the keys that hold the URL it opens.
_ACTION_URL_KEYS = frozenset({"url", "uri", "target", "href"})

# "type"/"@type" values, lower-cased: objects that are actions whatever key they sit under
# (Slack buttons and rich-text links in "elements", MessageCard OpenUri/ViewAction), and objects
# whose URLs are not pages to open (pictures; actions that POST to an API).
_ACTION_TYPES = frozenset({"button", "link", "openuri", "viewaction", "action.openurl"})
_NOT_A_PAGE_TYPES = frozenset(
    {"image", "imageset", "media", "httppost", "action.submit", "action.execute", "action.http"}
)
_TYPE_MAX = 40

# A word of a normalised key that says its value is a picture ("activity_image", "icon_url",
# "thumb_url", "footer_icon", "author_icon", "avatar_url", "background_image", "logo").
_PICTURE_WORDS = frozenset(
    {
        "image",
        "images",
        "img",
        "icon",
        "icons",
        "thumb",
        "thumbnail",
        "avatar",
        "logo",
        "photo",
        "picture",
        "favicon",
    }
)

_PICTURE_EXTENSIONS = (
    ".png",
    ".jpg",
    ".jpeg",
    ".gif",
    ".svg",
    ".webp",
    ".ico",
    ".bmp",
    ".tif",
    ".tiff",
    ".avif",
)
# Hosts whose URLs name vocabularies and schemas, never a page about the event.
_SCHEMA_HOSTS = ("schema.org", "json-schema.org", "adaptivecards.io")
# Security Center's default host (the ``links.hosts`` default); the parser has no settings, so
# only this domain and its subdomains rank as Security Center links.
_SECURITY_CENTER_DOMAIN = "holmsecurity.com"

ASSET_KEYS: dict[str, str] = {
    "asset": "name",
    "asset_name": "name",
    "hostname": "hostname",
    "host_name": "hostname",
    "fqdn": "hostname",
    "ip": "ip",
    "ip_address": "ip",
    "ipv4": "ipv4",
    "ipv4_address": "ipv4",
    "ipv6": "ipv6",
    "ipv6_address": "ipv6",
}
"""Keys of a custom payload naming its asset, to the :class:`Asset` field they fill (``"ip"``
means ipv4 or ipv6 by the value's form)."""

ASSET_LABELS: dict[str, str] = {
    **ASSET_KEYS,
    "asset_names": "name",
    "affected_asset": "name",
    "server": "name",
    "device": "name",
    "host": "hostname",
    "dns_name": "hostname",
    "ip_addr": "ip",
    "ip_addresses": "ip",
}
"""Fact and field names (normalised) naming the asset: the keys, and a few words that are too
vague for a key of an unknown payload ("host" may be a sender's server) but are clear as a
label a person wrote next to a value."""


@lru_cache(maxsize=4096)
def _hides_links(nk: str) -> bool:
    """Whether nothing under key ``nk`` is a link: JSON-LD (``@context``, ``@type``, ``@id``)
    and JSON Schema (``$schema``) metadata, and pictures. Cached: keys repeat."""
    return nk[:1] in ("@", "$") or any(word in _PICTURE_WORDS for word in nk.split("_"))


def child_context(ctx: int, nk: str | None, child: object) -> int:
    """The context of container ``child``, found under normalised key ``nk`` (``None`` for a
    list item, which keeps its list's context) of a container in context ``ctx``."""
    if ctx == SKIP:
        return SKIP
    new: int
    if nk is None:
        new = ctx
    elif _hides_links(nk):
        return SKIP
    elif nk in _TARGET_CONTAINERS:
        new = TARGETS
    elif nk in _ACTION_CONTAINERS:
        new = ACTION
    elif nk in _ROW_CONTAINERS and isinstance(child, list):
        new = ROWS
    elif nk in _EMBED_CONTAINERS and isinstance(child, list):
        new = EMBED
    elif ctx in (ACTION, TARGETS):
        new = ACTION
    else:
        new = PLAIN
    if isinstance(child, dict):
        kind = child.get("type")
        if kind is None:
            kind = child.get("@type")
        if isinstance(kind, str) and len(kind) <= _TYPE_MAX:
            word = kind.strip().lower()
            if word in _NOT_A_PAGE_TYPES:
                return SKIP
            if word in _ACTION_TYPES and new != TARGETS:
                return ACTION
    return new


def offers_titles(ctx: int) -> bool:
    """Whether strings in a container of context ``ctx`` may be the event's title."""
    return ctx <= EMBED


def link_role(ctx: int, nk: str | None) -> int:
    """What a string under normalised key ``nk`` (``None``: a list item) of a container in
    context ``ctx`` is for links: :data:`TARGET`, :data:`TEXT` or :data:`NO_LINK`."""
    if ctx == SKIP:
        return NO_LINK
    if nk is None:
        return TARGET if ctx == TARGETS else TEXT
    if _hides_links(nk):
        return NO_LINK
    if nk == "title_link":  # Slack attachments
        return TARGET
    if ctx in (ACTION, TARGETS) and nk in _ACTION_URL_KEYS:
        return TARGET
    if ctx == EMBED and nk == "url":  # Discord: the URL the embed's title opens
        return TARGET
    return TEXT


def url_rank(url: str) -> int | None:
    """:data:`RANK_SECURITY_CENTER` or :data:`RANK_OTHER` for a valid http(s) ``url``;
    ``None`` for a picture (by its path's extension) or a schema/vocabulary URL."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").rstrip(".")
    except ValueError:
        return None
    if parts.path.lower().endswith(_PICTURE_EXTENSIONS):
        return None
    if any(host == h or host.endswith("." + h) for h in _SCHEMA_HOSTS):
        return None
    if host == _SECURITY_CENTER_DOMAIN or host.endswith("." + _SECURITY_CENTER_DOMAIN):
        return RANK_SECURITY_CENTER
    return RANK_OTHER


# Adaptive Card layout elements holding other elements, by the key they hold them under.
_ADAPTIVE_CHILDREN = ("body", "items", "columns", "rows", "cells")
_ADAPTIVE_NODES_MAX = 500


def _adaptive_weight(block: dict[Any, Any]) -> int:
    """How much a TextBlock looks like the card's heading: 2 styled as one, 1 bold or large."""
    style, weight, size = block.get("style"), block.get("weight"), block.get("size")
    if isinstance(style, str) and style.lower() == "heading":
        return 2
    if isinstance(weight, str) and weight.lower() == "bolder":
        return 1
    return 1 if isinstance(size, str) and size.lower() in ("large", "extralarge") else 0


def is_adaptive_card(node: dict[Any, Any]) -> bool:
    return node.get("type") == "AdaptiveCard"


def card_heading(node: dict[Any, Any]) -> str | None:
    """An Adaptive Card's heading: its first TextBlock styled as a heading, else its first
    bold or large one, else its first one, in reading order (the parser's breadth-first walk
    would take the shallowest instead, and a card's heading often sits in a Container).

    ``None`` if it has no TextBlock. Looks at most at a few hundred elements.
    """
    best: tuple[int, str] | None = None
    stack: list[object] = [node]
    budget = _ADAPTIVE_NODES_MAX  # elements looked at or queued; bounds hostile fan-out
    while stack:
        element = stack.pop()
        if not isinstance(element, dict):
            continue
        text = element.get("text")
        if element.get("type") == "TextBlock" and isinstance(text, str) and text.strip():
            weight = _adaptive_weight(element)
            if weight == 2:
                return text
            if best is None or weight > best[0]:
                best = (weight, text)
            continue
        for key in reversed(_ADAPTIVE_CHILDREN):
            children = element.get(key)
            if isinstance(children, list) and budget > 0:
                taken = children[:budget]
                budget -= len(taken)
                stack.extend(reversed(taken))
    return best[1] if best is not None else None


_LABEL_DECORATION = " \t\r\n*_~`:"
_LABEL_MAX = 64


def clean_label(label: object) -> str | None:
    """A fact's name without the decoration templates put around it (``"*Severity:*"`` ->
    ``"Severity"``); ``None`` if it is not a short string."""
    if not isinstance(label, str) or len(label) > _LABEL_MAX:
        return None
    return label.strip(_LABEL_DECORATION) or None


# Slack section fields are text: "*Severity:* High", "*Severity*: High", "Severity:\nHigh".
_FIELD_TEXT_RE = re.compile(r"[\s*_~]*([^\n:*_~]{1,40}?)[\s*_~]*:(.+)", re.DOTALL)
_FIELD_TEXT_MAX = 400


def split_field_text(text: str) -> tuple[str, str] | None:
    """A field written as one text, ``"*Severity:*\\nHigh"``, as ``("Severity", "High")``."""
    if len(text) > _FIELD_TEXT_MAX:
        return None
    m = _FIELD_TEXT_RE.fullmatch(text)
    if m is None:
        return None
    label = m.group(1).strip()
    value = clean_fact_text(m.group(2))
    return (label, value) if label and value else None


_FACT_DECORATION = " \t\r\n*_~`"
_FACT_MAX = 1024


def clean_fact_text(text: str) -> str:
    """A fact's value as a person reads it: its first non-blank line without markdown emphasis
    (``"**web-02**"`` -> ``"web-02"``); ``""`` for blank text or text too long to be a value."""
    if len(text) > _FACT_MAX:
        return ""
    for line in text.splitlines():
        value = line.strip(_FACT_DECORATION)
        if value:
            return value
    return ""


_EMOJI_CODE_RE = re.compile(r":[a-z0-9_+\-]{1,40}:")
_WORD_RE = re.compile(r"[^\W\d_]+")
_WORD_SCAN = 80


def leading_word(text: str) -> str | None:
    """The first word of a fact's value, past emoji and emoji codes (``":red_circle: High
    (8.1)"`` -> ``"High"``); for values that dress a severity word up."""
    m = _WORD_RE.search(_EMOJI_CODE_RE.sub(" ", text[:_WORD_SCAN]))
    return m.group() if m else None
