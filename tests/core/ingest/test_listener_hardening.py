"""The listener's protections, each over real sockets against a real receiver.

HTTPS (TLS 1.2 minimum, clear errors naming the file), the source allowlist and trusted
proxies, per-source rate limits and the global cap on requests in progress, the header deadline
against slow clients, and the per-source connection cap. Every test here fails when the
protection it names is taken out.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import ipaddress
import json
import resource
import socket
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from holmtray.core.config.paths import Paths
from holmtray.core.config.schema import SettingsError
from holmtray.core.config.settings import Settings
from holmtray.core.history.writer import GroupCommitWriter
from holmtray.core.ingest.listener import (
    STATE_KEY,
    ListenerConfig,
    ListenerState,
    LiveConfig,
    create_app,
)
from holmtray.core.ingest.ratelimit import OncePer, TokenBuckets, retry_after
from holmtray.core.ingest.receiver import (
    Endpoint,
    ListenerError,
    Receiver,
    read_runtime,
    tls_context,
)
from holmtray.core.ingest.rejected import RejectedLog
from holmtray.core.netfilter import NetSet, Source, check_networks, forwarded_client
from tests.core.ingest import wire
from tests.core.ingest.wire import FakeClock
from tests.procs import Proc, run_cli

TOKEN = "Hardening-token-0123456789abcdefghijklmn"
BODY = {"finished_scan": {"name": "Daily scan", "status": "Completed", "critical_cnt": 1}}


# --------------------------------------------------------------------------- helpers


@dataclass
class Rig:
    receiver: Receiver
    paths: Paths
    session: aiohttp.ClientSession
    clock: FakeClock

    @property
    def base(self) -> str:
        return self.receiver.endpoint.local_url()

    @property
    def port(self) -> int:
        return self.receiver.endpoint.port

    @property
    def hook(self) -> str:
        return f"{self.base}/hooks/{TOKEN}"

    async def post(
        self, n: int = 0, *, url: str | None = None, headers: dict[str, str] | None = None
    ) -> tuple[int, dict[str, object], aiohttp.ClientResponse]:
        body = json.dumps({"subject": f"event {n}", "n": n}).encode()
        async with self.session.post(url or self.hook, data=body, headers=headers or {}) as r:
            return r.status, json.loads(await r.text()), r

    def rejections(self) -> list[tuple[int, str, str]]:
        return [
            (e.status, e.remote, e.reason)
            for e in RejectedLog(self.paths.rejected_log).newest(None)
        ]

    @property
    def state(self) -> ListenerState:
        runner = self.receiver._runner  # the live app's counters, read-only here
        assert runner is not None
        return runner.app[STATE_KEY]


@contextlib.asynccontextmanager
async def _rig(tmp_path: Path, **overrides: object) -> AsyncIterator[Rig]:
    async with (
        wire.rig(tmp_path, **{"listener.token": TOKEN, **overrides}) as running,
        aiohttp.ClientSession() as session,
    ):
        yield Rig(running.receiver, running.paths, session, running.clock)


async def _rows(rig: Rig) -> int:
    return len(await asyncio.to_thread(_count, rig.paths.database))


def _count(db: Path) -> list[int]:
    import sqlite3  # noqa: PLC0415

    con = sqlite3.connect(db)
    try:
        return [r[0] for r in con.execute("SELECT id FROM events")]
    finally:
        con.close()


async def _raw_answer(reader: asyncio.StreamReader, timeout: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    return await asyncio.wait_for(reader.read(), timeout)


def _request(body: bytes, *, path: str = f"/hooks/{TOKEN}", close: bool = False) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n"
    head += f"Content-Length: {len(body)}\r\n"
    if close:
        head += "Connection: close\r\n"
    return head.encode() + b"\r\n" + body


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """One HTTP/1.1 response with a Content-Length from a kept-alive connection."""
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    length = next(
        int(v) for k, _, v in (x.partition(":") for x in lines) if k.lower() == "content-length"
    )
    return status, await asyncio.wait_for(reader.readexactly(length), 10)


@pytest.fixture
def more_files() -> Iterator[None]:
    """Room for a thousand sockets in this process (server and client ends both count)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = 4096 if hard == resource.RLIM_INFINITY else min(4096, hard)
    if wanted < 1500:
        pytest.fail(f"RLIMIT_NOFILE hard limit {hard} is too low for this test (needs 1500)")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, wanted), hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


# --------------------------------------------------------------------------- HTTPS


@dataclass(frozen=True)
class Pki:
    ca: Path
    cert: Path
    key: Path
    other_key: Path
    encrypted_key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey, password: bytes | None = None) -> bytes:
    encryption: serialization.KeySerializationEncryption = (
        serialization.BestAvailableEncryption(password)
        if password
        else serialization.NoEncryption()
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption
    )


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """A private CA and a server certificate for localhost, 127.0.0.1 and ::1."""
    d = tmp_path_factory.mktemp("pki")
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "holmtray test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
                    x509.IPAddress(ipaddress.ip_address("::1")),
                ]
            ),
            critical=False,
        )
        .sign(ca_key, hashes.SHA256())
    )
    paths = Pki(
        ca=d / "ca.pem",
        cert=d / "server.pem",
        key=d / "server.key",
        other_key=d / "other.key",
        encrypted_key=d / "encrypted.key",
    )
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(_key_pem(key))
    paths.other_key.write_bytes(_key_pem(ec.generate_private_key(ec.SECP256R1())))
    paths.encrypted_key.write_bytes(_key_pem(key, b"passphrase"))
    return paths


def _tls(pki: Pki) -> dict[str, object]:
    return {"listener.tls_cert": str(pki.cert), "listener.tls_key": str(pki.key)}


async def test_https_post_is_stored_and_every_url_says_https(tmp_path: Path, pki: Pki) -> None:
    async with _rig(tmp_path, **_tls(pki)) as rig:
        ep = rig.receiver.endpoint
        assert ep.scheme == "https"
        assert rig.base.startswith("https://127.0.0.1:")
        assert ep.webhook_url(TOKEN, username="u", password="p").startswith("https://u:p@")
        assert ep.masked_url().startswith("https://")
        running = read_runtime(rig.paths)
        assert running is not None
        assert running[0].scheme == "https"  # what `holmtray url` prints from

        client = ssl.create_default_context(cafile=str(pki.ca))  # verifies the chain and name
        async with rig.session.post(rig.hook, json=BODY, ssl=client) as r:
            assert r.status == 200, await r.text()
        assert await _rows(rig) == 1

        # Plain HTTP to the HTTPS port gets no answer that stores anything.
        with pytest.raises(aiohttp.ClientError):
            async with rig.session.post(
                rig.hook.replace("https://", "http://"), json={"plain": 1}
            ) as r:
                await r.read()
        assert await _rows(rig) == 1


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # TLS 1.1 is deprecated: the point
async def test_tls_1_1_client_is_refused_though_this_openssl_can_speak_it(
    tmp_path: Path, pki: Pki
) -> None:
    context = tls_context(Settings({"listener.token": TOKEN, **_tls(pki)}))
    assert context is not None
    assert context.minimum_version == ssl.TLSVersion.TLSv1_2

    def old_client() -> ssl.SSLContext:
        c = ssl.create_default_context(cafile=str(pki.ca))
        c.minimum_version = ssl.TLSVersion.TLSv1_1
        c.maximum_version = ssl.TLSVersion.TLSv1_1
        c.set_ciphers("DEFAULT:@SECLEVEL=0")
        return c

    # Control: a server that allows TLS 1.1 does complete this handshake here, so a refusal
    # below is the listener's policy, not a client that cannot speak TLS 1.1 at all.
    lax = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    lax.minimum_version = ssl.TLSVersion.TLSv1_1
    lax.set_ciphers("DEFAULT:@SECLEVEL=0")
    lax.load_cert_chain(pki.cert, pki.key)

    async def hello(_r: asyncio.StreamReader, w: asyncio.StreamWriter) -> None:
        w.close()

    server = await asyncio.start_server(hello, "127.0.0.1", 0, ssl=lax)
    try:
        port = server.sockets[0].getsockname()[1]
        _, w = await asyncio.open_connection("127.0.0.1", port, ssl=old_client())
        assert w.get_extra_info("ssl_object").version() == "TLSv1.1"
        w.close()
    finally:
        server.close()
        await server.wait_closed()

    async with _rig(tmp_path, **_tls(pki)) as rig:
        with pytest.raises((ssl.SSLError, ConnectionError)):  # the handshake is refused
            await asyncio.open_connection("127.0.0.1", rig.port, ssl=old_client())
        modern = ssl.create_default_context(cafile=str(pki.ca))
        modern.maximum_version = ssl.TLSVersion.TLSv1_2
        _, w = await asyncio.open_connection("127.0.0.1", rig.port, ssl=modern)
        assert w.get_extra_info("ssl_object").version() == "TLSv1.2"
        w.close()


async def test_a_tls_handshake_that_never_starts_is_cut_at_the_header_deadline(
    tmp_path: Path, pki: Pki
) -> None:
    async with _rig(tmp_path, **_tls(pki), **{"listener.header_timeout": 1.0}) as rig:
        opened = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)  # no ClientHello
        assert await _raw_answer(reader, timeout=10) == b""
        assert time.monotonic() - opened < 5  # asyncio's own default would be 60 s
        writer.close()


@pytest.mark.parametrize(
    ("cert", "key", "named", "words"),
    [
        ("missing", "key", "cert", "does not exist"),
        ("key", "key", "cert", "no usable PEM certificate"),  # a key where the cert should be
        ("cert", "missing", "key", "does not exist"),
        ("cert", "cert", "key", "no usable PEM private key"),
        ("cert", "other_key", "key", "does not belong to the certificate"),
        ("cert", "encrypted_key", "key", "encrypted"),
        ("cert", "folder", "key", "is a folder"),
    ],
)
async def test_bad_certificate_or_key_is_a_listener_error_naming_the_file(
    tmp_path: Path, pki: Pki, cert: str, key: str, named: str, words: str
) -> None:
    files = {
        "cert": pki.cert,
        "key": pki.key,
        "other_key": pki.other_key,
        "encrypted_key": pki.encrypted_key,
        "missing": tmp_path / "nowhere.pem",
        "folder": tmp_path,
    }
    settings = Settings(
        {
            "listener.token": TOKEN,
            "listener.port": 0,
            "listener.tls_cert": str(files[cert]),
            "listener.tls_key": str(files[key]),
        }
    )
    receiver = Receiver(settings=settings, paths=Paths.under(tmp_path / "home"))
    with pytest.raises(ListenerError) as err:
        await receiver.start()
    message = str(err.value)
    assert str(files[cert if named == "cert" else key]) in message
    assert f"listener.tls_{named}" in message
    assert words in message
    assert "Traceback" not in message
    with pytest.raises(RuntimeError):
        _ = receiver.writer  # the store opened for the start was closed again


async def test_bad_certificate_in_apply_settings_keeps_the_running_listener(
    tmp_path: Path, pki: Pki
) -> None:
    async with _rig(tmp_path) as rig:
        port = rig.port
        bad = Settings(
            {
                "listener.token": TOKEN,
                "listener.port": 0,
                "listener.tls_cert": str(pki.cert),
                "listener.tls_key": str(pki.other_key),
            }
        )
        with pytest.raises(ListenerError, match=r"other\.key"):
            await rig.receiver.apply_settings(bad)
        assert rig.receiver.endpoint == Endpoint("127.0.0.1", port, "http")
        assert (await rig.post(1))[0] == 200

        good = Settings({"listener.token": TOKEN, "listener.port": 0, **_tls(pki)})
        await rig.receiver.apply_settings(good)
        assert rig.receiver.endpoint.scheme == "https"
        client = ssl.create_default_context(cafile=str(pki.ca))
        async with rig.session.post(rig.hook, json=BODY, ssl=client) as r:
            assert r.status == 200


async def test_switching_https_on_a_fixed_port_rebinds_the_same_port(
    tmp_path: Path, pki: Pki
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    async with _rig(tmp_path, **{"listener.port": port}) as rig:
        assert (await rig.post(1))[0] == 200
        await rig.receiver.apply_settings(
            Settings({"listener.token": TOKEN, "listener.port": port, **_tls(pki)})
        )
        assert rig.receiver.endpoint == Endpoint("127.0.0.1", port, "https")
        client = ssl.create_default_context(cafile=str(pki.ca))
        async with rig.session.post(rig.hook, json=BODY, ssl=client) as r:
            assert r.status == 200


def test_configured_endpoint_says_https_when_tls_is_set(pki: Pki) -> None:
    plain = Endpoint.configured(Settings({"listener.port": 9000}))
    assert plain.local_url() == "http://127.0.0.1:9000"
    tls = Endpoint.configured(Settings({"listener.port": 9000, **_tls(pki)}))
    assert tls.local_url() == "https://127.0.0.1:9000"
    assert tls.webhook_url("t", username="u", password="p:w") == (
        "https://u:p%3Aw@127.0.0.1:9000/hooks/t"
    )


def test_certificate_and_key_must_be_set_together() -> None:
    for one in ("listener.tls_cert", "listener.tls_key"):
        with pytest.raises(SettingsError) as err:
            Settings({one: "/etc/holmtray/x.pem"})
        assert "listener.tls_cert" in str(err.value)
        assert "listener.tls_key" in str(err.value)
    assert tls_context(Settings()) is None  # both empty: plain HTTP


def test_serve_with_a_missing_certificate_says_which_file_without_a_traceback(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    missing = tmp_path / "no-such-cert.pem"
    (home / "config" / "holmtray.toml").write_text(
        f'[listener]\ntoken = "{TOKEN}"\ntls_cert = "{missing}"\ntls_key = "{missing}.key"\n'
    )
    r = run_cli(home, "serve", "--port", "0", timeout=60)
    assert r.returncode == 1
    assert str(missing) in r.stderr
    assert "does not exist" in r.stderr
    assert "Traceback" not in r.stderr


# --------------------------------------------------------------------------- source allowlist


async def test_source_outside_the_allowlist_gets_403_and_a_rejected_log_entry(
    tmp_path: Path,
) -> None:
    async with _rig(tmp_path, **{"listener.allow_from": ["192.0.2.0/24", "2001:db8::/32"]}) as rig:
        status, body, r = await rig.post(1)
        assert status == 403
        assert body == {"error": "source address not allowed"}
        assert r.content_type == "application/json"
        async with rig.session.get(f"{rig.base}/healthz") as h:
            assert h.status == 403  # the allowlist covers every path
        assert await _rows(rig) == 0
        assert (403, "127.0.0.1", "source address not allowed") in rig.rejections()

        await rig.receiver.apply_settings(
            Settings(
                {
                    "listener.token": TOKEN,
                    "listener.port": 0,
                    "listener.allow_from": ["192.0.2.0/24", "127.0.0.1"],
                }
            )
        )
        assert (await rig.post(2))[0] == 200
        assert await _rows(rig) == 1


@pytest.fixture
def ipv6_loopback() -> None:
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
    except OSError as exc:
        pytest.skip(f"no IPv6 loopback on this machine: {exc}")


@pytest.mark.usefixtures("ipv6_loopback")
async def test_ipv6_sources_are_matched_against_ipv6_rules(tmp_path: Path) -> None:
    async with _rig(
        tmp_path, **{"listener.host": "::1", "listener.allow_from": ["::1/128"]}
    ) as rig:
        assert rig.base.startswith("http://[::1]:")
        assert (await rig.post(1))[0] == 200
        await rig.receiver.apply_settings(
            Settings(
                {
                    "listener.token": TOKEN,
                    "listener.host": "::1",
                    "listener.port": 0,
                    "listener.allow_from": ["127.0.0.1", "::ffff:127.0.0.1"],
                }
            )
        )
        assert (await rig.post(2))[0] == 403


@pytest.mark.usefixtures("ipv6_loopback")
async def test_ipv4_mapped_peer_of_a_dual_stack_socket_matches_ipv4_rules(tmp_path: Path) -> None:
    sock = socket.socket(socket.AF_INET6)
    sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    sock.bind(("::", 0))
    port = sock.getsockname()[1]
    writer = GroupCommitWriter(store_path=tmp_path / "events.db")
    await writer.start()
    live = LiveConfig(ListenerConfig(token=TOKEN, allow_from=NetSet(["127.0.0.0/8"])))
    app = create_app(config=live, ingest=writer.submit, rejected=RejectedLog(tmp_path / "r.jsonl"))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock).start()
    url = f"http://127.0.0.1:{port}/hooks/{TOKEN}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.post(url, json={"n": 1}) as r:
                assert r.status == 200
            live.update(ListenerConfig(token=TOKEN, allow_from=NetSet(["10.0.0.0/8"])))
            async with session.post(url, json={"n": 2}) as r:
                assert r.status == 403
        entries = RejectedLog(tmp_path / "r.jsonl").newest(None)
        assert [(e.status, e.remote) for e in entries] == [(403, "127.0.0.1")]  # not ::ffff:…
    finally:
        await runner.cleanup()
        await writer.close()


async def test_x_forwarded_for_is_believed_only_from_a_trusted_proxy(tmp_path: Path) -> None:
    async with _rig(tmp_path, **{"listener.allow_from": ["203.0.113.7"]}) as rig:
        # Not behind a trusted proxy: the header is ignored, the peer 127.0.0.1 is checked.
        status, _, _ = await rig.post(1, headers={"X-Forwarded-For": "203.0.113.7"})
        assert status == 403

        await rig.receiver.apply_settings(
            Settings(
                {
                    "listener.token": TOKEN,
                    "listener.port": 0,
                    "listener.allow_from": ["203.0.113.7"],
                    "listener.trusted_proxies": ["127.0.0.1", "10.0.0.0/8"],
                }
            )
        )
        cases = [
            ("203.0.113.7", 200),
            ("198.51.100.1", 403),
            # The client forges an allowed address; the proxy appends the real one.
            ("203.0.113.7, 198.51.100.1", 403),
            # Two trusted proxies in a row: the client is the first untrusted from the right.
            ("198.51.100.1, 203.0.113.7, 10.1.2.3", 200),
            ("garbage", 403),
        ]
        for n, (xff, expected) in enumerate(cases, start=2):
            status, _, _ = await rig.post(n, headers={"X-Forwarded-For": xff})
            assert status == expected, xff
        remotes = {remote for status, remote, _ in rig.rejections() if status == 403}
        assert "198.51.100.1" in remotes  # the log names the client, not the proxy


def test_forwarded_client_walks_the_chain_from_the_right() -> None:
    trusted = NetSet(["10.0.0.0/8", "fd00::/8"])
    peer = Source.of("10.0.0.1")
    assert forwarded_client(peer, [], trusted) == peer
    assert forwarded_client(peer, ["1.2.3.4"], trusted).text == "1.2.3.4"
    assert forwarded_client(peer, ["9.9.9.9, 1.2.3.4", "10.0.0.2"], trusted).text == "1.2.3.4"
    assert forwarded_client(peer, ["[2001:db8::5]:443"], trusted).text == "2001:db8::5"
    assert forwarded_client(peer, ["192.0.2.1:8080"], trusted).text == "192.0.2.1"
    assert forwarded_client(peer, ["::ffff:192.0.2.1"], trusted).text == "192.0.2.1"
    assert forwarded_client(peer, ["10.0.0.3, 10.0.0.2"], trusted).text == "10.0.0.3"
    assert forwarded_client(peer, ["fd00::1"], trusted).text == "fd00::1"


def test_ipv4_mapped_addresses_and_networks_match_ipv4_rules() -> None:
    v4 = NetSet(["203.0.113.0/24"])
    assert Source.of_peer(("::ffff:203.0.113.9", 4711, 0, 0)).ip in v4
    assert Source.of_peer(("::ffff:203.0.114.9", 4711, 0, 0)).ip not in v4
    assert Source.of_peer(("::ffff:203.0.113.9", 4711, 0, 0)).text == "203.0.113.9"
    mapped_rule = NetSet(["::ffff:203.0.113.0/120"])
    assert Source.of("203.0.113.200").ip in mapped_rule
    v6 = NetSet(["2001:db8::/32", "::1"])
    assert Source.of("2001:db8:1::7").ip in v6
    assert Source.of("2001:db9::7").ip not in v6
    assert Source.of("::1").ip in v6
    assert Source.of("127.0.0.1").ip not in v6
    assert Source.of("not an address").ip not in v4


def test_netset_lookup_matches_ipaddress_membership() -> None:
    entries = ["10.0.0.0/8", "10.1.0.0/16", "192.0.2.7", "192.0.2.8/31", "0.0.0.0/32"]
    nets = [ipaddress.ip_network(e) for e in entries]
    netset = NetSet(entries)
    for text in ["10.255.255.255", "11.0.0.0", "9.255.255.255", "192.0.2.6", "192.0.2.7",
                 "192.0.2.8", "192.0.2.9", "192.0.2.10", "0.0.0.0", "0.0.0.1"]:  # fmt: skip
        address = ipaddress.ip_address(text)
        assert (address in netset) == any(address in n for n in nets), text


@pytest.mark.parametrize("key", ["listener.allow_from", "listener.trusted_proxies"])
def test_a_bad_network_entry_is_named_in_the_settings_error(key: str) -> None:
    with pytest.raises(SettingsError) as err:
        Settings({key: ["192.0.2.0/24", "192.0.2.300"]})
    assert key in str(err.value)
    assert "'192.0.2.300' is not an IP address or network" in str(err.value)
    assert check_networks(["2001:db8::/32", "10.0.0.0/8", "10.1.2.3/8"]) is None


# --------------------------------------------------------------------------- rate limits


async def test_source_over_its_rate_gets_429_with_retry_after_then_recovers(
    tmp_path: Path,
) -> None:
    limits = {"listener.rate_per_minute": 60, "listener.rate_burst": 3, "listener.rate_exempt": []}
    async with _rig(tmp_path, **limits) as rig:
        for n in range(3):
            assert (await rig.post(n))[0] == 200
        status, body, r = await rig.post(3)
        assert status == 429
        assert r.headers["Retry-After"] == "1"
        assert "60 per minute" in str(body["error"])
        assert await _rows(rig) == 3  # the throttled one was not stored

        # A wrong token is counted too: guessing is throttled like posting.
        status, _, _ = await rig.post(4, url=f"{rig.base}/hooks/guess")
        assert status == 429
        async with rig.session.get(f"{rig.base}/healthz") as h:
            assert h.status == 200  # health checks are not rate-limited

        rig.clock.now += 1.0  # one token back at one per second
        assert (await rig.post(5))[0] == 200
        assert (await rig.post(6))[0] == 429
        rig.clock.now += 30
        statuses = [(await rig.post(n))[0] for n in range(7, 11)]
        assert statuses == [200, 200, 200, 429]  # refilled to the burst, not beyond


async def test_rate_limits_are_per_source_and_exempt_sources_are_not_limited(
    tmp_path: Path,
) -> None:
    limits = {
        "listener.rate_per_minute": 60,
        "listener.rate_burst": 2,
        "listener.trusted_proxies": ["127.0.0.1"],
        "listener.rate_exempt": ["198.51.100.0/24"],
    }
    async with _rig(tmp_path, **limits) as rig:

        async def from_(client: str, n: int) -> int:
            return (await rig.post(n, headers={"X-Forwarded-For": client}))[0]

        assert [await from_("192.0.2.1", n) for n in range(3)] == [200, 200, 429]
        assert [await from_("192.0.2.2", n) for n in range(3, 6)] == [200, 200, 429]
        assert [await from_("198.51.100.9", n) for n in range(6, 16)] == [200] * 10
        # One IPv6 host holds a whole /64: it is one source, whatever address it picks.
        assert [await from_(f"2001:db8:1:2::{n}", n) for n in range(16, 19)] == [200, 200, 429]
        assert await from_("2001:db8:1:3::1", 19) == 200


async def test_flood_rejections_are_logged_once_per_source_and_interval(tmp_path: Path) -> None:
    limits = {"listener.rate_per_minute": 60, "listener.rate_burst": 1, "listener.rate_exempt": []}
    async with _rig(tmp_path, **limits) as rig:
        statuses = [(await rig.post(n))[0] for n in range(30)]
        assert statuses == [200] + [429] * 29
        assert [s for s, _, _ in rig.rejections()] == [429]
        rig.clock.now += 11  # next interval (and the bucket refilled)
        assert [(await rig.post(n))[0] for n in range(30, 32)] == [200, 429]
        assert [s for s, _, _ in rig.rejections()] == [429, 429]


def test_token_bucket_arithmetic_and_bounded_table() -> None:
    clock = FakeClock()
    buckets = TokenBuckets(clock=clock, max_sources=100)
    assert [buckets.take("a", rate_per_s=2, burst=2) for _ in range(3)] == [0.0, 0.0, 0.5]
    clock.now += 0.25
    assert buckets.take("a", rate_per_s=2, burst=2) == pytest.approx(0.25)  # half a token back
    clock.now += 0.5
    assert buckets.take("a", rate_per_s=2, burst=2) == 0.0
    for n in range(10_000):  # a spoofed-source flood
        buckets.take(f"spoof-{n}", rate_per_s=2, burst=2)
    assert len(buckets) == 100
    assert retry_after(0.01) == "1"
    assert retry_after(1.2) == "2"

    once = OncePer(interval=10, clock=clock, max_keys=5)
    assert once("x") is True
    assert once("x") is False
    clock.now += 10
    assert once("x") is True
    for n in range(50):
        once(n)
    assert len(once._seen) == 5


async def test_requests_over_the_concurrency_cap_get_503_at_once_and_the_cap_is_released(
    tmp_path: Path,
) -> None:
    async with _rig(tmp_path, **{"listener.max_concurrent": 2}) as rig:
        bodies = [
            json.dumps({"subject": f"slow body {n}", "pad": "x" * 100}).encode() for n in (1, 2)
        ]
        slow = [await asyncio.open_connection("127.0.0.1", rig.port) for _ in bodies]
        for (_, w), body in zip(slow, bodies, strict=True):
            w.write(_request(body, close=True)[: -len(body) // 2])  # head and half the body
            await w.drain()
        deadline = time.monotonic() + 10
        while rig.state.in_flight < 2:
            assert time.monotonic() < deadline, "the slow requests never reached the handler"
            await asyncio.sleep(0.01)

        started = time.monotonic()
        status, answer, r = await rig.post(1)
        assert status == 503
        assert r.headers["Retry-After"] == "1"
        assert "in progress" in str(answer["error"])
        assert time.monotonic() - started < 1.0  # answered at once, not queued
        async with rig.session.get(f"{rig.base}/healthz") as h:
            assert h.status == 200  # health is not counted against the cap

        for (reader, w), body in zip(slow, bodies, strict=True):
            w.write(body[-len(body) // 2 :])
            await w.drain()
            assert (await _raw_answer(reader)).startswith(b"HTTP/1.1 200")
            w.close()
        assert rig.state.in_flight == 0
        assert (await rig.post(2))[0] == 200
        assert await _rows(rig) == 3


# --------------------------------------------------------------------------- slow clients


class _SlowClient(asyncio.Protocol):
    """Sends half a request head, then whatever the test trickles; records the answer.

    A protocol rather than a stream: the server's 408 arrives just before its close, and a
    trickled byte crossing that close draws a reset, which would make a stream reader raise
    instead of handing over the answer it already holds.
    """

    def __init__(self) -> None:
        self.opened = time.monotonic()
        self.answer = bytearray()
        self.lifetime: asyncio.Future[float] = asyncio.get_running_loop().create_future()
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        transport.write(b"POST /hooks/x HTTP/1.1\r\nHost: a\r\nX-Slow: ")

    def trickle(self) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(b"a")

    def data_received(self, data: bytes) -> None:
        self.answer += data

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.lifetime.done():
            self.lifetime.set_result(time.monotonic() - self.opened)


async def test_500_trickling_connections_do_not_delay_a_post_and_are_closed_at_the_deadline(
    tmp_path: Path, more_files: None
) -> None:
    settings = {
        "listener.header_timeout": 2.0,
        "listener.keepalive_timeout": 30.0,
        "listener.max_connections_per_source": 0,
    }
    async with _rig(tmp_path, **settings) as rig:
        loop = asyncio.get_running_loop()
        clients: list[_SlowClient] = []
        for _ in range(500):
            _, client = await loop.create_connection(_SlowClient, "127.0.0.1", rig.port)
            clients.append(client)
        stop = asyncio.Event()

        async def trickle() -> None:  # one more header byte on every connection, 4 times a second
            while not stop.is_set():
                for c in clients:
                    c.trickle()
                await asyncio.sleep(0.25)

        trickler = asyncio.create_task(trickle())
        try:
            started = time.monotonic()
            status, _, _ = await rig.post(1)
            elapsed = time.monotonic() - started
            assert status == 200
            assert elapsed < 2.0, f"a normal POST took {elapsed:.2f} s behind 500 slow clients"
            assert not any(c.lifetime.done() for c in clients), "closed before the deadline"

            lifetimes = sorted(
                await asyncio.wait_for(asyncio.gather(*(c.lifetime for c in clients)), 15)
            )
        finally:
            stop.set()
            await trickler
            for c in clients:
                if c.transport is not None:
                    c.transport.close()
        assert lifetimes[0] >= 1.9, "a connection was closed before its header deadline"
        assert lifetimes[-1] < 6.0, "trickling bytes kept a connection past its header deadline"
        answered = [bytes(c.answer) for c in clients]
        assert all(a.startswith(b"HTTP/1.1 408 ") for a in answered), {a[:40] for a in answered}
        assert b"request headers not received within 2 seconds" in answered[0]
        assert await _rows(rig) == 1
        rejected_408 = [r for r in rig.rejections() if r[0] == 408]
        assert len(rejected_408) == 1  # one line for the whole flood from one source


async def test_a_fresh_connection_that_sends_nothing_is_closed_at_the_header_deadline(
    tmp_path: Path,
) -> None:
    async with _rig(
        tmp_path, **{"listener.header_timeout": 1.0, "listener.keepalive_timeout": 30.0}
    ) as rig:
        opened = time.monotonic()
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
        data = await _raw_answer(reader)
        assert 0.9 <= time.monotonic() - opened < 5
        assert data.startswith(b"HTTP/1.1 408 ")
        writer.close()


async def test_idle_keepalive_is_governed_by_keepalive_timeout_and_the_next_head_by_the_deadline(
    tmp_path: Path,
) -> None:
    async with _rig(
        tmp_path, **{"listener.header_timeout": 1.0, "listener.keepalive_timeout": 3.0}
    ) as rig:
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
        writer.write(_request(b'{"n": 1}'))
        assert (await _read_response(reader))[0] == 200
        await asyncio.sleep(1.8)  # idle past the header deadline, within keep-alive
        writer.write(_request(b'{"n": 2}'))
        assert (await _read_response(reader))[0] == 200

        # The next head starts arriving and stalls: closed a header deadline after its first
        # byte, well before the keep-alive time would have closed it.
        await asyncio.sleep(0.5)
        began = time.monotonic()
        writer.write(b"POST /hooks/x HTTP/1.1\r\n")
        data = await _raw_answer(reader)
        assert data.startswith(b"HTTP/1.1 408 ")
        assert 0.9 <= time.monotonic() - began < 2.0
        writer.close()

        # And an idle kept-alive connection is closed by the keep-alive timer, without a 408.
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
        writer.write(_request(b'{"n": 3}'))
        assert (await _read_response(reader))[0] == 200
        idle_from = time.monotonic()
        assert await _raw_answer(reader) == b""
        assert 2.5 <= time.monotonic() - idle_from < 5
        writer.close()


async def test_connections_per_source_are_capped_and_other_sources_are_not_affected(
    tmp_path: Path,
) -> None:
    settings = {
        "listener.max_connections_per_source": 3,
        "listener.rate_exempt": [],
        "listener.header_timeout": 30.0,
        "listener.keepalive_timeout": 30.0,
    }
    async with _rig(tmp_path, **settings) as rig:
        held = [await asyncio.open_connection("127.0.0.1", rig.port) for _ in range(3)]
        reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
        data = await _raw_answer(reader, timeout=5)
        assert data.startswith(b"HTTP/1.1 503 ")
        assert b"too many open connections" in data
        writer.close()

        # Another source is served while 127.0.0.1 is at its cap.
        connector = aiohttp.TCPConnector(local_addr=("127.0.0.2", 0))
        async with (
            aiohttp.ClientSession(connector=connector) as other,
            other.post(rig.hook, json=BODY) as r,
        ):
            assert r.status == 200

        # A held connection closes: its slot is free again.
        held[0][1].close()
        deadline = time.monotonic() + 10
        while True:
            reader, writer = await asyncio.open_connection("127.0.0.1", rig.port)
            writer.write(_request(b'{"n": 1}', close=True))
            data = await _raw_answer(reader)
            writer.close()
            if data.startswith(b"HTTP/1.1 200"):
                break
            assert time.monotonic() < deadline, data
            await asyncio.sleep(0.05)
        for _, w in held[1:]:
            w.close()


def test_send_test_and_url_work_against_an_https_serve(tmp_path: Path, pki: Pki) -> None:
    home = tmp_path / "home"
    (home / "config").mkdir(parents=True)
    (home / "config" / "holmtray.toml").write_text(
        f'[listener]\ntoken = "{TOKEN}"\ntls_cert = "{pki.cert}"\ntls_key = "{pki.key}"\n'
    )
    proc = Proc(home, "serve", "--port", "0")
    try:
        port = proc.port()
        r = run_cli(home, "send-test")
        assert r.returncode == 0, r.stdout + r.stderr
        assert f"https://127.0.0.1:{port}/hooks/<token>: HTTP 200" in r.stdout
        url = run_cli(home, "url").stdout.strip().splitlines()[-1]
        assert url == f"https://127.0.0.1:{port}/hooks/{TOKEN}"
    finally:
        assert proc.stop() == 0
