"""*Test connection* for a relay address and read token, answered in plain words.

One ``GET /v1/status`` with the token in the ``Authorization`` header (never in the URL),
through the same checks the subscriber uses (https, or plain http to this computer only
unless allowed; the optional CA file). The answer is ``(ok, message)``: the message says what
was found ("Connected to hooks.example.org: the read token was accepted and it keeps events #1
to #812.") or what is wrong,
in a sentence, without the token.
"""

from __future__ import annotations

import logging

from holmtray.core.ingest import relayconn
from holmtray.core.ingest.relayconn import RelayError, RelayTarget

log = logging.getLogger("holmtray.ingest.relaycheck")

CHECK_TIMEOUT_S = 10.0


def _sentence(text: str) -> str:
    text = text.strip()
    if text and not text.endswith((".", "!", "?")):
        text += "."
    return text[:1].upper() + text[1:]


async def check_relay(
    *,
    url: str,
    token: str,
    ca_file: str = "",
    allow_http: bool = False,
    timeout: float = CHECK_TIMEOUT_S,
) -> tuple[bool, str]:
    """Ask the relay at ``url`` for its status with ``token``; ``(ok, message)``."""
    target = RelayTarget(
        url=url.strip().rstrip("/"),
        token=token.strip(),
        ca_file=ca_file,
        allow_http=allow_http,
        read_timeout=timeout,
    )
    try:
        target.check()
        session = relayconn.new_session(target)
        try:
            status = await relayconn.fetch_status(session, target)
        finally:
            await session.close()
    except RelayError as exc:
        log.info("relay connection test failed: %s", exc)
        return False, _sentence(str(exc))
    if status.oldest_id is None:
        held = "it holds no events yet"
    elif status.oldest_id == status.last_id:
        held = f"it keeps event #{status.last_id}"
    else:
        held = f"it keeps events #{status.oldest_id} to #{status.last_id}"
    message = f"Connected to {target.host}: the read token was accepted and {held}."
    if status.store:
        message += f" But the relay reports a problem: {_sentence(status.store)}"
    return status.store is None, message
