"""TLS for the listener: the server :class:`ssl.SSLContext` built from a certificate and a key.

It owns the TLS policy (TLS 1.2 at least, OpenSSL's default ciphers for that) and turns every
way the two files can be wrong (missing, unreadable, not PEM, not a certificate, an encrypted
key, a key that belongs to another certificate) into a :class:`TLSConfigError` whose message
names the file and says what to do, never a traceback. No password prompt ever blocks: an
encrypted key is refused with advice instead.
"""

from __future__ import annotations

import os
import ssl
from pathlib import Path

MINIMUM_VERSION = ssl.TLSVersion.TLSv1_2


class TLSConfigError(Exception):
    """The certificate or key cannot be used; the message names the file and why."""


_CERT = ("certificate", "listener.tls_cert")
_KEY = ("private key", "listener.tls_key")


def _fail(which: tuple[str, str], path: Path, problem: str) -> TLSConfigError:
    what, key = which
    return TLSConfigError(f"{what} file {path} {problem} (setting '{key}')")


def _readable(path: Path, which: tuple[str, str]) -> None:
    try:
        with path.open("rb") as fh:
            head = fh.read(1)
    except FileNotFoundError:
        raise _fail(which, path, "does not exist") from None
    except IsADirectoryError:
        raise _fail(which, path, "is a folder, not a file") from None
    except PermissionError:
        raise _fail(which, path, f"is not readable by this user (uid {os.getuid()})") from None
    except OSError as exc:
        raise _fail(which, path, f"cannot be read: {exc.strerror or exc}") from None
    if not head:
        raise _fail(which, path, "is empty")


def _reason(exc: ssl.SSLError) -> str:
    reason = str(exc.reason or "")
    if not reason or reason == "PEM_LIB":
        return ""
    return f" ({reason.replace('_', ' ').lower()})"


def server_context(cert: Path, key: Path) -> ssl.SSLContext:
    """A server context for ``cert`` (PEM, chain allowed) and its private ``key`` (PEM)."""
    cert, key = cert.expanduser(), key.expanduser()
    _readable(cert, _CERT)
    _readable(key, _KEY)
    # The certificate alone first, so a broken one is reported as the certificate's fault.
    probe = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    try:
        probe.load_verify_locations(cafile=str(cert))
    except (ssl.SSLError, ValueError) as exc:
        detail = _reason(exc) if isinstance(exc, ssl.SSLError) else f" ({exc})"
        raise _fail(_CERT, cert, f"holds no usable PEM certificate{detail}") from None

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = MINIMUM_VERSION
    asked: list[bool] = []

    def no_password() -> bytes:
        asked.append(True)  # never let OpenSSL prompt on a terminal: refuse instead
        return b""

    try:
        context.load_cert_chain(str(cert), str(key), password=no_password)
    except ssl.SSLError as exc:
        reason = str(exc.reason or "")
        if asked:
            raise _fail(
                _KEY,
                key,
                "is encrypted and holmtray cannot ask for its passphrase; store it "
                f"unencrypted, readable only by you (openssl pkey -in {key} -out NEW.key)",
            ) from None
        if "KEY_VALUES_MISMATCH" in reason:
            raise _fail(_KEY, key, f"does not belong to the certificate in {cert}") from None
        raise _fail(_KEY, key, f"holds no usable PEM private key{_reason(exc)}") from None
    except (OSError, ValueError) as exc:
        raise _fail(_KEY, key, f"cannot be loaded: {exc}") from None
    return context
