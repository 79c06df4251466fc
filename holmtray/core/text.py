"""Plain-text helpers shared by every layer: one table of bidi controls, one plural rule,
one way to say how long something took.

Payload text is untrusted. Bidirectional embedding/override/isolate controls and the invisible
direction marks can make ``"invoice\u202egnp.exe"`` read as ``invoiceexe.png``; wherever
people read payload text it is either shown with those characters made visible
(:func:`show_bidi_controls`) or has them removed (:data:`BIDI_CONTROLS` as a deletion table).
Every module that treats them asks this one table, so a newly found control is added once.
"""

from __future__ import annotations

from datetime import timedelta

BIDI_CONTROLS: frozenset[int] = frozenset(
    (0x061C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A))
)
"""Code points that change the display order of the text around them (ALM, LRM, RLM, the
embeddings and overrides U+202A–U+202E, the isolates U+2066–U+2069)."""

_SHOWN = {code: f"[U+{code:04X}]" for code in BIDI_CONTROLS}


def show_bidi_controls(text: str) -> str:
    """``text`` with each bidi control written out as ``[U+202E]`` and the like."""
    return text.translate(_SHOWN)


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``"1 event"``, ``"2 events"``; ``plural_form`` for words that do not just add an s."""
    return f"{n} {singular if n == 1 else (plural_form or singular + 's')}"


def duration_words(d: timedelta) -> str:
    """``"45 s"``, ``"57 min"``, ``"1 h 5 min"``, ``"2 h"``, ``"3 d 4 h"``: the largest two
    units that matter, rounded down."""
    total = max(0, int(d.total_seconds()))
    if total < 60:
        return f"{total} s"
    minutes = total // 60
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h" if hours else f"{days} d"
