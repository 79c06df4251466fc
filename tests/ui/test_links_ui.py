"""The link opener: what reaches the browser, what asks first, and what never opens."""

from __future__ import annotations

import html
import logging
import re
import stat
import webbrowser
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import QTimer
from PySide6.QtGui import QFont, QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget
from pytestqt.qtbot import QtBot

from holmtray.core.alerts.links import LinkDecision, Verdict, decide
from holmtray.ui.links import (
    _HOST_STYLE,
    ASK_TITLE,
    HOSTS_HINT,
    LinkConfirmDialog,
    LinkOpener,
    host_text,
    launch_browser,
    loggable_url,
    refusal_box,
    url_html,
)

HOSTS = ["holmsecurity.com"]
ASK_URL = 'https://evil.example.net/scans?next=<script>&a=1&b="2"'
# What a browser makes of ASK_URL (WHATWG serialisation): what is shown, and what is opened.
ASK_HREF = "https://evil.example.net/scans?next=%3Cscript%3E&a=1&b=%222%22"
BACKSLASH_URL = "https://evil.example\\.holmsecurity.com/…"
BACKSLASH_HREF = "https://evil.example/.holmsecurity.com/%E2%80%A6"


class Recorder:
    def __init__(self) -> None:
        self.launched: list[str] = []
        self.asked: list[LinkDecision] = []
        self.warned: list[LinkDecision] = []

    def launch(self, url: str) -> None:
        self.launched.append(url)

    def confirm(self, answer: bool) -> Callable[[LinkDecision, QWidget | None], bool]:
        def ask(decision: LinkDecision, parent: QWidget | None) -> bool:
            self.asked.append(decision)
            return answer

        return ask

    def warn(self, decision: LinkDecision, parent: QWidget | None) -> None:
        self.warned.append(decision)


def _opener(rec: Recorder, *, answer: bool = False) -> LinkOpener:
    return LinkOpener(
        hosts=lambda: HOSTS, launch=rec.launch, confirm=rec.confirm(answer), warn=rec.warn
    )


def _later(qtbot: QtBot, action: Callable[[QWidget], None]) -> None:
    """Run ``action`` on the modal dialog once it is up (the caller is about to block in exec)."""

    def attempt() -> None:
        widget = QApplication.activeModalWidget()
        if widget is None:
            QTimer.singleShot(10, attempt)
            return
        action(widget)

    QTimer.singleShot(0, attempt)


def test_security_center_link_opens_without_a_dialog() -> None:
    rec = Recorder()
    url = "https://sc.holmsecurity.com/scans/view/123"
    assert _opener(rec).open(url) is True
    assert rec.launched == [url]
    assert rec.asked == []
    assert rec.warned == []


def test_other_host_is_opened_only_after_the_user_confirms() -> None:
    rec = Recorder()
    assert _opener(rec, answer=False).open(ASK_URL) is False
    assert rec.launched == []
    assert [d.verdict for d in rec.asked] == [Verdict.ASK]

    rec = Recorder()
    assert _opener(rec, answer=True).open(ASK_URL) is True
    assert rec.launched == [ASK_HREF]


def test_hosts_are_read_at_each_click() -> None:
    rec = Recorder()
    hosts: list[str] = []
    opener = LinkOpener(hosts=lambda: hosts, launch=rec.launch, confirm=rec.confirm(False))
    url = "https://sc.example.org/x"
    assert opener.open(url) is False
    hosts.append("example.org")
    assert opener.open(url) is True
    assert rec.launched == [url]


def test_backslash_link_asks_with_the_real_host_and_opens_only_what_was_judged() -> None:
    rec = Recorder()
    assert _opener(rec, answer=False).open(BACKSLASH_URL) is False
    assert rec.launched == []
    assert [(d.verdict, d.host, d.url) for d in rec.asked] == [
        (Verdict.ASK, "evil.example", BACKSLASH_HREF)
    ]

    rec = Recorder()
    assert _opener(rec, answer=True).open(BACKSLASH_URL) is True
    assert rec.launched == [BACKSLASH_HREF]


def test_security_center_link_is_handed_to_the_browser_normalised() -> None:
    rec = Recorder()
    assert _opener(rec).open("HTTPS://SC.HolmSecurity.COM:443/scans/view/123?q=a b") is True
    assert rec.launched == ["https://sc.holmsecurity.com/scans/view/123?q=a%20b"]
    assert rec.asked == []


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example%5C.holmsecurity.com/",
        "https://@sc.holmsecurity.com/",
        "https://sc.holm\tsecurity.com/",
        "JaVaScRiPt:alert(1)",
    ],
)
def test_tricks_the_old_check_missed_or_a_browser_forgives_are_refused(url: str) -> None:
    rec = Recorder()
    assert _opener(rec, answer=True).open(url) is False
    assert rec.launched == []
    assert [d.verdict for d in rec.warned] == [Verdict.REFUSE]


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "file:///etc/passwd",
        "data:text/html,<script>alert(1)</script>",
        "https://sc.holmsecurity.com@evil.example.net/",
        "https://user:secret@sc.holmsecurity.com/scans",
        "",
        None,
    ],
)
def test_refused_links_never_reach_the_browser_and_the_user_is_told_why(
    url: str | None,
) -> None:
    rec = Recorder()
    assert _opener(rec, answer=True).open(url) is False
    assert rec.launched == []
    assert rec.asked == []
    assert len(rec.warned) == 1
    assert rec.warned[0].verdict is Verdict.REFUSE


def test_ask_dialog_shows_the_full_escaped_url_with_the_host_highlighted(
    qtbot: QtBot, artifacts: Path
) -> None:
    decision = decide(ASK_URL, HOSTS)
    dialog = LinkConfirmDialog(decision)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.grab().save(str(artifacts / "link_confirm_dialog.png"))
    assert dialog.windowTitle() == ASK_TITLE
    assert decision.reason in dialog.reason_label.text()
    host = "evil.example.net"
    # The markup is only ours: strip the tags, unescape, and the URL is back, whole.
    assert html.unescape(re.sub(r"<[^>]+>", "", dialog.url_html)) == ASK_HREF
    assert f">{host}</b>" in dialog.url_html
    assert "&amp;a=1&amp;b=" in dialog.url_html
    assert "<script>" not in dialog.url_html
    assert "<a " not in dialog.url_html
    # What the user sees is exactly the URL the browser will get, no markup interpreted.
    assert dialog.url_view.toPlainText() == ASK_HREF
    cursor = QTextCursor(dialog.url_view.document())
    start = ASK_HREF.index(host)
    cursor.setPosition(start + 1)
    assert cursor.charFormat().fontWeight() == QFont.Weight.Bold
    cursor.setPosition(start + len(host) + 2)
    assert cursor.charFormat().fontWeight() != QFont.Weight.Bold
    texts = " ".join(label.text() for label in dialog.findChildren(type(dialog.reason_label)))
    assert HOSTS_HINT in texts
    assert dialog.cancel_button.isDefault()
    assert not dialog.open_button.isDefault()
    assert dialog.open_button.text() == "Open"
    assert dialog.cancel_button.text() == "Cancel"


def _bold_at(dialog: LinkConfirmDialog, position: int) -> bool:
    cursor = QTextCursor(dialog.url_view.document())
    cursor.setPosition(position + 1)  # the format of the character before the cursor
    return cursor.charFormat().fontWeight() == QFont.Weight.Bold


def test_ask_dialog_for_a_backslash_link_highlights_the_host_the_browser_contacts(
    qtbot: QtBot, artifacts: Path
) -> None:
    dialog = LinkConfirmDialog(decide(BACKSLASH_URL, HOSTS))
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.grab().save(str(artifacts / "link_confirm_backslash.png"))
    assert dialog.url_view.toPlainText() == BACKSLASH_HREF
    host_at = len("https://")
    bold = [_bold_at(dialog, i) for i in range(len(BACKSLASH_HREF))]
    assert bold == [host_at <= i < host_at + len("evil.example") for i in range(len(bold))]
    assert dialog.host_label.text() == "The browser will contact: evil.example"
    assert "evil.example" in dialog.reason_label.text()


def test_ask_dialog_for_an_idna_host_shows_punycode_and_unicode_forms(
    qtbot: QtBot, artifacts: Path
) -> None:
    decision = decide("https://hоlmsecurity.com/login", HOSTS)  # a Cyrillic 'о'
    dialog = LinkConfirmDialog(decision)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    assert dialog.grab().save(str(artifacts / "link_confirm_idna.png"))
    punycode = "xn--hlmsecurity-rnj.com"
    assert dialog.url_view.toPlainText() == f"https://{punycode}/login"
    assert f">{punycode}</b>" in dialog.url_html
    shown = dialog.host_label.text()
    assert f"The browser will contact: {punycode}" in shown
    assert "\u2066hоlmsecurity.com\u2069" in shown
    assert dialog.host_label.textFormat().name == "PlainText"


def test_host_text_writes_out_direction_controls_in_the_unicode_form() -> None:
    decision = LinkDecision(
        verdict=Verdict.ASK,
        url="https://xn--exegnp-dm0c.com/",
        host="xn--exegnp-dm0c.com",
        reason="x",
        unicode_host="exe\u202egnp.com",
    )
    text = host_text(decision)
    assert "\u202e" not in text
    assert "exe[U+202E]gnp.com" in text


def test_url_html_escapes_every_piece_of_the_url() -> None:
    decision = LinkDecision(
        verdict=Verdict.ASK,
        url='https://evil.example/?a=<script>&b="2"',
        host="evil.example",
        reason="x",
    )
    marked = url_html(decision)
    assert marked == (
        f'https://<b style="{_HOST_STYLE}">evil.example</b>/?a=&lt;script&gt;&amp;b=&quot;2&quot;'
    )


def test_ask_dialog_opens_on_open_and_not_on_cancel(qtbot: QtBot) -> None:
    launched: list[str] = []
    opener = LinkOpener(hosts=lambda: HOSTS, launch=launched.append)

    seen: list[str] = []

    def click(name: str) -> Callable[[QWidget], None]:
        def act(widget: QWidget) -> None:
            assert isinstance(widget, LinkConfirmDialog)
            seen.append(widget.url_view.toPlainText())
            getattr(widget, name).click()

        return act

    _later(qtbot, click("cancel_button"))
    assert opener.open(ASK_URL) is False
    assert launched == []

    _later(qtbot, click("open_button"))
    assert opener.open(ASK_URL) is True
    assert launched == [ASK_HREF]
    assert seen == [ASK_HREF, ASK_HREF]


def test_refusal_is_a_plain_text_warning_with_the_reason(qtbot: QtBot) -> None:
    launched: list[str] = []
    opener = LinkOpener(hosts=lambda: HOSTS, launch=launched.append)
    shown: list[str] = []

    def read_and_close(widget: QWidget) -> None:
        assert isinstance(widget, QMessageBox)
        shown.append(widget.text())
        widget.accept()

    _later(qtbot, read_and_close)
    assert opener.open("javascript:alert(document.cookie)") is False
    assert launched == []
    assert shown == ["holmtray did not open this link: 'javascript:' links are never opened."]

    box = refusal_box(decide("data:text/html,<b>x</b>", HOSTS), None)
    qtbot.addWidget(box)
    assert box.textFormat().name == "PlainText"
    assert box.informativeText() == "data:text/html,<b>x</b>"


def test_decisions_are_logged_without_query_or_credentials(
    caplog: pytest.LogCaptureFixture,
) -> None:
    rec = Recorder()
    with caplog.at_level(logging.INFO, logger="holmtray.ui.links"):
        _opener(rec).open("https://sc.holmsecurity.com/scan?token=s3cret#frag")
        _opener(rec).open("https://bob:hunter2@sc.holmsecurity.com/x?k=v")
    text = caplog.text
    assert "sc.holmsecurity.com/scan?…" in text
    assert "s3cret" not in text
    assert "frag" not in text
    assert "hunter2" not in text
    assert "bob" not in text
    assert loggable_url("https://a:b@h.example/p?q#f") == "https://***@h.example/p?…"


def test_launch_browser_runs_the_browser_from_dollar_browser(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "opened.txt"
    script = tmp_path / "fake browser.sh"
    script.write_text(f'#!/bin/sh\nprintf "%s" "$1" > "{out}.tmp" && mv "{out}.tmp" "{out}"\n')
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("BROWSER", str(script))
    # webbrowser reads $BROWSER once per process; make it look again for this test.
    monkeypatch.setattr(webbrowser, "_tryorder", None)
    monkeypatch.setattr(webbrowser, "_browsers", {})
    url = "https://sc.holmsecurity.com/scans/view/123?tab=results&x=1"

    launch_browser(url)

    qtbot.waitUntil(out.exists, timeout=10_000)
    assert out.read_text() == url
