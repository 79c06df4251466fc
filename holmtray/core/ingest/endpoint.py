"""Where a listener is, without starting one: the endpoint, its URLs, and the runtime file.

Kept apart from ``receiver.py`` so that the command line can answer ``url``, ``events`` and
``send-test`` without importing the HTTP server (aiohttp alone costs a third of a second).
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from urllib.parse import quote

from holmtray.core.config.paths import Paths
from holmtray.core.config.settings import Settings

RUNTIME_FILE = "listener.json"
HOOK_PREFIX = "/hooks/"
"""Webhook paths are ``/hooks/<token>``; the listener routes them, URLs are built from them."""


def hook_path(token: str) -> str:
    """The path Security Center posts to: ``/hooks/<token>``."""
    return HOOK_PREFIX + token


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the listener is reachable, and how to build the webhook URL for it."""

    host: str
    port: int
    scheme: str = "http"

    @classmethod
    def configured(cls, settings: Settings) -> Endpoint:
        """Where the settings say the listener is (for when it is not running to ask)."""
        return cls(
            host=settings.text("listener.host"),
            port=settings.integer("listener.port"),
            scheme="https" if settings.text("listener.tls_cert") else "http",
        )

    def base_url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::", ""):  # noqa: S104 - naming the wildcard, not binding it
            host = socket.getfqdn() or "localhost"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"

    def webhook_url(self, token: str, *, username: str = "", password: str = "") -> str:
        """The full URL to paste into Security Center, credentials included when set."""
        base = self.base_url()
        if username or password:
            creds = f"{quote(username, safe='')}:{quote(password, safe='')}@"
            base = base.replace("://", "://" + creds, 1)
        return base + hook_path(token)

    def masked_url(self) -> str:
        """The webhook URL with the token hidden, safe for logs and tooltips."""
        return self.base_url() + hook_path("<token>")

    def local_url(self) -> str:
        """An address this machine can use to reach the listener (for send-test)."""
        host = self.host
        if host in ("0.0.0.0", ""):  # noqa: S104
            host = "127.0.0.1"
        elif host == "::":
            host = "::1"
        if ":" in host:
            host = f"[{host}]"
        return f"{self.scheme}://{host}:{self.port}"


def read_runtime(paths: Paths) -> tuple[Endpoint, int] | None:
    """The endpoint and pid a running listener recorded, if its process is still alive."""
    try:
        data = json.loads((paths.data_dir / RUNTIME_FILE).read_text(encoding="utf-8"))
        endpoint = Endpoint(
            host=str(data["host"]), port=int(data["port"]), scheme=str(data.get("scheme", "http"))
        )
        pid = int(data["pid"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if not _alive(pid):
        return None
    return endpoint, pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
