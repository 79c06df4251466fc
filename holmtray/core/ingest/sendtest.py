"""Send a sample event to a listener: the one place that builds the test POST.

Both ``holmtray send-test`` and the tray's *Send test event* come here. A :class:`SampleTarget`
says where to post (the full webhook URL, which holds the token), how to show that place to a
person (token masked), which Basic credentials to send, and whether to check the certificate.
aiohttp is imported on first use only: the command line stays quick for everything else.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from holmtray import __version__
from holmtray.core.config.settings import Settings
from holmtray.core.ingest.endpoint import HOOK_PREFIX, Endpoint, hook_path
from holmtray.core.parsing.samples import sample_body

SEND_TIMEOUT_S = 15.0


@dataclass(frozen=True, slots=True)
class SampleTarget:
    """Where a sample goes. ``url`` holds the token: never print it, print ``shown``."""

    url: str
    shown: str
    username: str = ""
    password: str = ""
    verify: bool = True

    @classmethod
    def own_listener(cls, endpoint: Endpoint, settings: Settings) -> SampleTarget:
        """This machine's listener, reached on a local address.

        Its certificate names the public host, not the loopback address used here, so it is
        not checked; the token and credentials come from the settings.
        """
        base = endpoint.local_url()
        return cls(
            url=base + hook_path(settings.text("listener.token")),
            shown=base + hook_path("<token>"),
            username=settings.text("listener.username"),
            password=settings.text("listener.password"),
            verify=False,
        )

    @classmethod
    def given_url(cls, url: str) -> SampleTarget:
        """A URL the user typed (credentials, if any, inside it); its certificate is checked."""
        parts = urlsplit(url)
        if parts.username is not None or parts.password is not None:  # shown without them
            parts = parts._replace(netloc=parts.netloc.rpartition("@")[2])
        shown = urlunsplit(parts)
        base, sep, _token = shown.partition(HOOK_PREFIX)
        return cls(url=url, shown=base + hook_path("<token>") if sep else shown)


async def send_sample(target: SampleTarget, kind: str) -> tuple[int, str]:
    """POST a fresh sample body of ``kind``; the status and the first 2,000 characters.

    Raises what aiohttp raises when the listener cannot be reached (``aiohttp.ClientError``,
    ``OSError``, ``TimeoutError``).
    """
    import aiohttp  # noqa: PLC0415 - only a test send needs the HTTP client (~0.3 s to import)

    headers = {
        "Content-Type": "application/json",
        "User-Agent": f"holmtray-send-test/{__version__}",
    }
    if target.username or target.password:
        pair = f"{target.username}:{target.password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode("ascii")
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=SEND_TIMEOUT_S)) as session,
        session.post(
            target.url, data=sample_body(kind), headers=headers, ssl=target.verify
        ) as resp,
    ):
        return resp.status, (await resp.text())[:2000]
