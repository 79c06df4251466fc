"""Link decisions: which links open, which ask first, which never open, judged as a browser
reads the link (WHATWG URL parsing, checked against ada-url)."""

from __future__ import annotations

import itertools
from urllib.parse import urlsplit

import pytest
from ada_url import URL
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from holmtray.core.alerts.links import MAX_URL_CHARS, LinkDecision, Verdict, decide

HOSTS = ["holmsecurity.com"]


@pytest.mark.parametrize(
    "url",
    [
        "https://sc.holmsecurity.com/scans/view/123",
        "https://holmsecurity.com/",
        "http://SC.HolmSecurity.com./x",
        "https://eu.sc.holmsecurity.com:8443/tickets/1",
    ],
)
def test_security_center_hosts_open_directly(url: str) -> None:
    assert decide(url, HOSTS).verdict is Verdict.OPEN


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/holmsecurity.com",
        "https://holmsecurity.com.evil.example/",
        "https://notholmsecurity.com/",
        "http://10.0.0.1/login",
        "https://[::1]/x",
        "https://xn--hlmsecurity-xyz.com/",
        "https://hоlmsecurity.com/",  # Cyrillic 'о'
    ],
)
def test_other_web_hosts_ask_first(url: str) -> None:
    d = decide(url, HOSTS)
    assert d.verdict is Verdict.ASK
    assert d.host
    start, end = d.host_span
    assert d.url[start:end].lower() == d.host.lower()


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "javascript:alert(1)",
        "JavaScript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "ftp://sc.holmsecurity.com/x",
        "smb://host/share",
        "//sc.holmsecurity.com/x",
        "sc.holmsecurity.com/x",
        "https://user:pw@sc.holmsecurity.com/",
        "https://sc.holmsecurity.com@evil.example/",
        "https://sc.holmsecurity.com:99999/",
        "https://sc.holmsecurity.com/\nSet-Cookie",
        "",
        None,
        "https://" + "a" * 5000 + ".com",
    ],
)
def test_everything_else_never_opens(url: str | None) -> None:
    d = decide(url, HOSTS)
    assert d.verdict is Verdict.REFUSE
    assert d.reason


def test_host_list_is_editable_for_on_premise_consoles() -> None:
    url = "https://holm.corp.example/scans/1"
    assert decide(url, HOSTS).verdict is Verdict.ASK
    assert decide(url, [*HOSTS, "corp.example"]).verdict is Verdict.OPEN
    assert decide(url, []).verdict is Verdict.ASK


def test_the_reason_names_the_host_that_is_not_trusted() -> None:
    d = decide("https://phish.example/holm", HOSTS)
    assert "phish.example" in d.reason


# --------------------------------------------------------------------------------------------
# Judged the way the browser parses: differential tests against the WHATWG parser (ada-url)


def _whatwg(url: str) -> URL | None:
    try:
        return URL(url)
    except ValueError:
        return None


def _whatwg_host(url: str) -> str:
    parsed = _whatwg(url)
    return parsed.hostname if parsed is not None else ""


def _is_allowed(host: str, hosts: list[str]) -> bool:
    bare = host.removesuffix(".")
    return any(bare == h or bare.endswith("." + h) for h in hosts)


def _check_against_the_browser(url: str | None, hosts: list[str] = HOSTS) -> LinkDecision:
    """Every decision, whatever the input: the host judged is the host the browser contacts,
    what is handed to the browser is the WHATWG serialisation, and OPEN only for an allowed
    plain host."""
    d = decide(url, hosts)
    text = url or ""
    if len(text) <= MAX_URL_CHARS:
        assert d.host == _whatwg_host(text), url
    if d.verdict is Verdict.REFUSE:
        assert d.reason
        return d
    parsed = _whatwg(text)
    assert parsed is not None, url
    assert d.url == parsed.href, url
    assert d.url.isascii(), url
    # What the browser is given parses, again, to the host that was judged.
    handed = URL(d.url)
    assert (handed.href, handed.hostname) == (d.url, d.host), url
    assert handed.protocol in ("http:", "https:"), url
    assert handed.username == handed.password == "", url
    start, end = d.host_span
    assert (start, d.url[start:end]) == (len(handed.protocol) + 2, d.host), url
    if d.verdict is Verdict.OPEN:
        assert _is_allowed(parsed.hostname, hosts), url
        assert not any(label.startswith("xn--") for label in d.host.split(".")), url
        assert d.unicode_host is None
    return d


# urlsplit (what the check read until now) puts each of these under holmsecurity.com, so they
# opened without asking; a browser contacts another host, or cannot parse the link at all.
URLSPLIT_MISREADS = [
    ("https://evil.example\\.holmsecurity.com/…", Verdict.ASK, "evil.example"),
    ("https://evil.example\\.holmsecurity.com/", Verdict.ASK, "evil.example"),
    ("https://evil.example\\sc.holmsecurity.com/login", Verdict.ASK, "evil.example"),
    ("https://evil.example\\\\.holmsecurity.com/", Verdict.ASK, "evil.example"),
    ("HTTPS://EVIL.EXAMPLE\\.HOLMSECURITY.COM/", Verdict.ASK, "evil.example"),
    ("https://evil.example\\.holmsecurity.com:443/x", Verdict.ASK, "evil.example"),
    ("http://203.0.113.9\\.holmsecurity.com/", Verdict.ASK, "203.0.113.9"),
    ("http://0xcb007109\\.holmsecurity.com/", Verdict.ASK, "203.0.113.9"),
    ("https://evil.example%5C.holmsecurity.com/", Verdict.REFUSE, ""),
    ("https://evil.example%2F.holmsecurity.com/", Verdict.REFUSE, ""),
    ("https://evil.example%23.holmsecurity.com/", Verdict.REFUSE, ""),
    ("https://evil.example%3F.holmsecurity.com/", Verdict.REFUSE, ""),
    ("https://evil.example%40.holmsecurity.com/", Verdict.REFUSE, ""),
    # Not names DNS has; browsers differ on some of them, so none opens silently.
    ("https://evil.example;.holmsecurity.com/", Verdict.ASK, "evil.example;.holmsecurity.com"),
    ("https://holmsecurity.com../", Verdict.ASK, "holmsecurity.com.."),
    # An IDNA name under a trusted domain: letters from other scripts, never silently.
    ("https://xn--zca.holmsecurity.com/", Verdict.ASK, "xn--zca.holmsecurity.com"),
]


@pytest.mark.parametrize(("url", "verdict", "host"), URLSPLIT_MISREADS)
def test_links_urlsplit_misreads_are_judged_as_the_browser_reads_them(
    url: str, verdict: Verdict, host: str
) -> None:
    seen_by_urlsplit = (urlsplit(url).hostname or "").rstrip(".")
    assert _is_allowed(seen_by_urlsplit, HOSTS)  # what the check read until now: trusted
    d = _check_against_the_browser(url)
    assert (d.verdict, d.host) == (verdict, host)


def test_the_reported_backslash_link_asks_and_names_the_real_host() -> None:
    d = decide("https://evil.example\\.holmsecurity.com/…", HOSTS)
    assert d.verdict is Verdict.ASK
    assert d.host == "evil.example"
    assert d.url == "https://evil.example/.holmsecurity.com/%E2%80%A6"
    assert d.url[slice(*d.host_span)] == "evil.example"
    assert "evil.example is not on the Security Center host list" in d.reason


def _backslash_variants() -> list[str]:
    """Generated look-alikes: an attacker's host, something urlsplit keeps in the host but a
    browser does not, then a trusted-looking tail."""
    out = []
    for scheme, evil, sep, tail, port, path in itertools.product(
        ("https", "http", "HTTPS", "hTtPs"),
        ("evil.example", "EVIL.Example", "203.0.113.9", "0xcb007109", "xn--e1afmkfd.example"),
        ("\\", "\\\\", "\\.\\", "%5C", "%5c", "%2F", "%2f", "%23", "%3F", "%40"),
        (".holmsecurity.com", ".sc.holmsecurity.com", ".EU.SC.HolmSecurity.com."),
        ("", ":443", ":8443"),
        ("", "/", "/scans/view/123", "?q=1", "#top"),
    ):
        out.append(f"{scheme}://{evil}{sep}{tail}{port}{path}")
    return out


def test_generated_backslash_and_escape_variants_never_open() -> None:
    variants = _backslash_variants()
    assert len(variants) > 5000
    fooled_urlsplit = opened = 0
    for url in variants:
        fooled_urlsplit += _is_allowed((urlsplit(url).hostname or "").rstrip("."), HOSTS)
        d = _check_against_the_browser(url)
        opened += d.verdict is Verdict.OPEN
        assert d.host in ("", "evil.example", "203.0.113.9", "xn--e1afmkfd.example"), url
    assert opened == 0
    assert fooled_urlsplit > len(variants) // 2  # these would have opened without asking


@pytest.mark.parametrize(
    "url",
    [
        "https://sc.holm\tsecurity.com/x",
        "https://sc.holmsecurity.com\t.evil.example/",
        "https://evil.example\n.holmsecurity.com/",
        "https://sc.holmsecurity.com/\r\nSet-Cookie: a=b",
        "ht\ttps://sc.holmsecurity.com/",
        "https:/\n/sc.holmsecurity.com/",
        "\x00https://sc.holmsecurity.com/",
        "https://sc.holmsecurity.com/\x7f",
        "https://sc.holmsecurity.com/\x1b[31m",
    ],
)
def test_tabs_newlines_and_other_controls_are_refused_though_a_browser_would_drop_some(
    url: str,
) -> None:
    d = _check_against_the_browser(url)
    assert d.verdict is Verdict.REFUSE
    assert d.reason == "the link contains control characters"


def test_surrounding_whitespace_is_trimmed_as_the_browser_does() -> None:
    d = _check_against_the_browser("  https://sc.holmsecurity.com/x \n")
    assert (d.verdict, d.url) == (Verdict.OPEN, "https://sc.holmsecurity.com/x")


@pytest.mark.parametrize(
    "url",
    [
        "https://@sc.holmsecurity.com/",
        "https://:@sc.holmsecurity.com/",
        "https://user@sc.holmsecurity.com/",
        "https://a%40b@sc.holmsecurity.com/",
        "https://sc.holmsecurity.com@evil.example/",
        "https://sc.holmsecurity.com:443@evil.example/",
        "https://sc.holmsecurity.com%2F@evil.example/",
        "https:\\\\user@sc.holmsecurity.com/",
        "https:sc.holmsecurity.com@evil.example",
        "HTTPS://X:Y@SC.HOLMSECURITY.COM/",
    ],
)
def test_user_info_in_every_spelling_is_refused(url: str) -> None:
    d = _check_against_the_browser(url)
    assert d.verdict is Verdict.REFUSE
    assert "user name or password" in d.reason


@pytest.mark.parametrize(
    ("url", "host", "written"),
    [
        ("https://sc%2Eholmsecurity.com/", "sc.holmsecurity.com", "sc%2Eholmsecurity.com"),
        ("https://%73c.holmsecurity.com/", "sc.holmsecurity.com", "%73c.holmsecurity.com"),
        ("https://ｓｃ.holmsecurity.com/", "sc.holmsecurity.com", "ｓｃ.holmsecurity.com"),
        ("https://sc．holmsecurity.com/", "sc.holmsecurity.com", "sc．holmsecurity.com"),
        ("https://sc.holmsecurity.com。/", "sc.holmsecurity.com.", "sc.holmsecurity.com。"),
        # Invisible characters are written out, so the two forms do not look the same.
        ("https://sc.holm\u00adsecurity.com/", "sc.holmsecurity.com", "sc.holm[U+00AD]security"),
        ("https://sc.holm\u200bsecurity.com/", "sc.holmsecurity.com", "sc.holm[U+200B]security"),
        ("https://sc.holm\ufe0fsecurity.com/", "sc.holmsecurity.com", "sc.holm[U+FE0F]security"),
        ("https://sc.holm\u034fsecurity.com/", "sc.holmsecurity.com", "sc.holm[U+034F]security"),
    ],
)
def test_a_host_written_in_disguise_asks_and_names_what_the_browser_contacts(
    url: str, host: str, written: str
) -> None:
    d = _check_against_the_browser(url)
    assert (d.verdict, d.host) == (Verdict.ASK, host)
    assert host in d.reason
    assert written in d.reason
    assert d.url == f"https://{host}/"


@pytest.mark.parametrize(
    ("url", "host", "unicode_host"),
    [
        ("https://hоlmsecurity.com/", "xn--hlmsecurity-rnj.com", "hоlmsecurity.com"),  # Cyrillic
        ("https://ß.holmsecurity.com/x", "xn--zca.holmsecurity.com", "ß.holmsecurity.com"),
        ("https://xn--zca.holmsecurity.com/x", "xn--zca.holmsecurity.com", "ß.holmsecurity.com"),
        ("https://MÜNCHEN.de/", "xn--mnchen-3ya.de", "münchen.de"),
        ("https://مثال.إختبار/", "xn--mgbh0fb.xn--kgbechtv", "مثال.إختبار"),
    ],
)
def test_internationalised_hosts_ask_and_carry_both_forms(
    url: str, host: str, unicode_host: str
) -> None:
    d = _check_against_the_browser(url)
    assert d.verdict is Verdict.ASK
    assert (d.host, d.unicode_host) == (host, unicode_host)
    assert host in d.reason
    assert unicode_host in d.reason
    assert d.url.startswith(f"https://{host}/")


def test_punycode_that_does_not_decode_still_asks() -> None:
    for url in (
        "https://xn--a.holmsecurity.com/",
        "https://xn--/",
        "https://XN--HLMSECURITY-XYZ.com",
    ):
        d = _check_against_the_browser(url)
        assert d.verdict is Verdict.ASK, url
        assert d.unicode_host is None


@pytest.mark.parametrize(
    ("url", "written"),
    [
        ("http://2130706433/", "2130706433"),
        ("http://0x7f.1/", "0x7f.1"),
        ("http://0x7F000001/", "0x7F000001"),
        ("http://0177.0.0.1/", "0177.0.0.1"),
        ("http://0177.1/", "0177.1"),
        ("http://127.1/", "127.1"),
        ("http://127.0.0.1./", "127.0.0.1."),
        ("http://127.0.0.1/", None),
        ("https://%31%32%37.0.0.1/", "%31%32%37.0.0.1"),
    ],
)
def test_ipv4_in_every_notation_asks_as_an_ip_address(url: str, written: str | None) -> None:
    d = _check_against_the_browser(url)
    assert (d.verdict, d.host) == (Verdict.ASK, "127.0.0.1")
    assert "127.0.0.1 is an IP address" in d.reason
    if written is not None:
        assert written in d.reason


def test_a_listed_ip_address_opens_only_when_written_plainly() -> None:
    hosts = ["10.0.0.5"]
    assert _check_against_the_browser("http://10.0.0.5/x", hosts).verdict is Verdict.OPEN
    for url in ("http://167772165/x", "http://0xa.0.0.5/x", "http://012.0.0.5/x", "http://10.5/"):
        d = _check_against_the_browser(url, hosts)
        assert (d.verdict, d.host) == (Verdict.ASK, "10.0.0.5"), url
    # An IP address is trusted as itself, never as a "parent domain".
    assert _check_against_the_browser("http://1.10.0.0.5/", ["0.0.5"]).verdict is not Verdict.OPEN


@pytest.mark.parametrize(
    "url",
    ["https://[::1]/x", "https://[0:0::1]/", "https://[::ffff:127.0.0.1]/", "http://[1::2]:80/"],
)
def test_ipv6_addresses_ask(url: str) -> None:
    d = _check_against_the_browser(url)
    assert d.verdict is Verdict.ASK
    assert d.host.startswith("[")
    assert "is an IP address" in d.reason


@pytest.mark.parametrize(
    ("url", "verdict", "handed"),
    [
        ("https://sc.holmsecurity.com:443/", Verdict.OPEN, "https://sc.holmsecurity.com/"),
        ("https://sc.holmsecurity.com:0443/", Verdict.OPEN, "https://sc.holmsecurity.com/"),
        ("http://sc.holmsecurity.com:80/", Verdict.OPEN, "http://sc.holmsecurity.com/"),
        ("https://sc.holmsecurity.com:/x", Verdict.OPEN, "https://sc.holmsecurity.com/x"),
        ("https://sc.holmsecurity.com:8443", Verdict.OPEN, "https://sc.holmsecurity.com:8443/"),
        ("https://sc.holmsecurity.com.:8443/", Verdict.OPEN, "https://sc.holmsecurity.com.:8443/"),
        ("https://sc.holmsecurity.com:65536/", Verdict.REFUSE, None),
        ("https://sc.holmsecurity.com:8443:1/", Verdict.REFUSE, None),
        ("https://sc.holmsecurity.com:-1/", Verdict.REFUSE, None),
        ("https://sc.holmsecurity.com:0x50/", Verdict.REFUSE, None),
    ],
)
def test_ports(url: str, verdict: Verdict, handed: str | None) -> None:
    d = _check_against_the_browser(url)
    assert d.verdict is verdict
    if handed is not None:
        assert d.url == handed


@pytest.mark.parametrize(
    ("url", "verdict"),
    [
        ("https://", Verdict.REFUSE),
        ("http://", Verdict.REFUSE),
        ("https:", Verdict.REFUSE),
        ("https:///", Verdict.REFUSE),
        ("http://:80/", Verdict.REFUSE),
        ("https://?x=1", Verdict.REFUSE),
        ("https://#x", Verdict.REFUSE),
        ("https://[]/", Verdict.REFUSE),
        # The browser skips every slash after the scheme, as it goes to this host, so do we.
        ("https:///sc.holmsecurity.com/x", Verdict.OPEN),
        ("https:sc.holmsecurity.com/x", Verdict.OPEN),
        ("https:\\\\sc.holmsecurity.com/x", Verdict.OPEN),
    ],
)
def test_empty_and_missing_hosts(url: str, verdict: Verdict) -> None:
    d = _check_against_the_browser(url)
    assert d.verdict is verdict
    if verdict is Verdict.OPEN:
        assert d.url == "https://sc.holmsecurity.com/x"


def _case_variants(word: str) -> list[str]:
    return ["".join(p) for p in itertools.product(*((c.lower(), c.upper()) for c in word))]


def test_javascript_file_and_data_links_are_refused_in_every_case_variant() -> None:
    bodies = {
        "javascript": ":alert(1)",
        "file": ":///etc/passwd",
        "data": ":text/html,<script>alert(1)</script>",
    }
    checked = 0
    for scheme, body in bodies.items():
        for spelled in _case_variants(scheme):
            for url in (
                spelled + body,
                " " + spelled + body,
                "\x01" + spelled + body,
                spelled[:2] + "\t" + spelled[2:] + body,
                spelled + ":" + "//sc.holmsecurity.com/%0aalert(1)",
            ):
                d = _check_against_the_browser(url)
                assert d.verdict is Verdict.REFUSE, url
                checked += 1
    assert checked == 5 * (2**10 + 2**4 + 2**4)


@pytest.mark.parametrize(
    "url",
    [
        "vbscript:msgbox(1)",
        "blob:https://sc.holmsecurity.com/0b9e",
        "view-source:https://sc.holmsecurity.com/",
        "ws://sc.holmsecurity.com/",
        "intent://sc.holmsecurity.com#Intent;end",
        "jav&#x61;script:alert(1)",
        "\u00a0https://sc.holmsecurity.com/",
    ],
)
def test_other_schemes_and_scheme_tricks_are_refused(url: str) -> None:
    assert _check_against_the_browser(url).verdict is Verdict.REFUSE


def test_the_browser_is_handed_the_normalised_url() -> None:
    d = _check_against_the_browser("HTTPS://SC.HOLMSECURITY.COM:443/a b/../c?x=<1>#f g")
    assert d.verdict is Verdict.OPEN
    assert d.url == "https://sc.holmsecurity.com/c?x=%3C1%3E#f%20g"
    assert d.host == "sc.holmsecurity.com"


def test_host_span_is_checked_in_place_not_searched() -> None:
    fooled = LinkDecision(
        verdict=Verdict.ASK,
        url="https://evil.example/?next=sc.holmsecurity.com",
        host="sc.holmsecurity.com",
        reason="x",
    )
    assert fooled.host_span == (0, 0)
    prefix = LinkDecision(
        verdict=Verdict.ASK,
        url="https://sc.holmsecurity.com.evil/",
        host="sc.holmsecurity.com",
        reason="x",
    )
    assert prefix.host_span == (0, 0)
    d = decide("https://sc.example/?h=sc.example", HOSTS)
    assert d.host_span == (8, 18)


CORPUS = [
    *(url for url, _, _ in URLSPLIT_MISREADS),
    "https://sc.holmsecurity.com/scans/view/123",
    "http://SC.HolmSecurity.com./x",
    "https://sc.holmsecurity.com#@evil.example",
    "https://sc.holmsecurity.com?@evil.example",
    "https://sc.holmsecurity.com\\@evil.example/",
    "https://evil.example\\@sc.holmsecurity.com/",
    "https://evil.example/\\sc.holmsecurity.com",
    "https://sc.holmsecurity.com%00/",
    "https://sc.holmsecurity.com%2500/",
    "https://0x7f.holmsecurity.com/",
    "https://1.2.3.4.5/",
    "https://4294967296/",
    "https://0/",
    "https://a..b/",
    "https://.holmsecurity.com/",
    "https://-.holmsecurity.com/",
    "https://_dmarc.holmsecurity.com/",
    "https://sc.holmsecurity.com/" + "a" * 4000,
    "https://sc.holmsecurity.com/\u202egnp.exe",
    "https://evil.example\u2215.holmsecurity.com/",
    "https://evil.example\uff3c.holmsecurity.com/",
    "https://evil.example\u2024holmsecurity.com/",
    "https://evil.example%E3%80%82holmsecurity.com/",
    "https://\ud800.holmsecurity.com/",
    "https://sc.holmsecurity.com/\ud800",
]


@pytest.mark.parametrize("url", CORPUS)
def test_corpus_host_is_the_whatwg_host_and_only_allowed_hosts_open(url: str) -> None:
    _check_against_the_browser(url)


_PIECES = [
    "https://",
    "http://",
    "HTTPS:",
    "https:",
    "javascript:",
    "file:",
    "data:",
    "\\",
    "/",
    "//",
    "@",
    ":",
    ":443",
    ":8443",
    ":99999",
    ".",
    "..",
    "%2e",
    "%5c",
    "%2f",
    "%40",
    "%00",
    "%",
    "\t",
    "\n",
    " ",
    "\x00",
    "\ud800",
    "?",
    "#",
    "[",
    "]",
    "::1",
    "0x7f",
    "127",
    "0177",
    "2130706433",
    "sc",
    "holmsecurity",
    "com",
    "evil",
    "example",
    "xn--",
    "xn--zca",
    "hоlm",
    "ｓｃ",
    "ß",
    "\u00ad",
    "\u3002",
    "\u202e",
    "-",
    "_",
    ";",
]


@hsettings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(url=st.lists(st.sampled_from(_PIECES) | st.text(max_size=3), max_size=14).map("".join))
def test_fuzz_url_shaped_inputs_never_raise_and_follow_the_browser(url: str) -> None:
    _check_against_the_browser(url)


@hsettings(max_examples=500, deadline=None)
@given(url=st.one_of(st.none(), st.text(max_size=200)), hosts=st.lists(st.text(max_size=20)))
def test_fuzz_any_text_never_raises(url: str | None, hosts: list[str]) -> None:
    d = decide(url, hosts)
    assert isinstance(d.verdict, Verdict)
    assert d.reason
