"""Link decisions: which links open, which ask first, which never open."""

from __future__ import annotations

import pytest

from holmtray.core.alerts.links import Verdict, decide

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
