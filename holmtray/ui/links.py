"""Opening links from events: the only path from a webhook's URL to the user's browser.

:func:`holmtray.core.alerts.links.decide` judges each URL the way a browser parses it; this
module acts on the verdict. OPEN goes straight to the browser, ASK shows the full URL with its
host highlighted (and an internationalised host in both its punycode and its Unicode form) and
opens only when the user presses "Open", REFUSE explains why and opens nothing. What reaches the
browser is always the decision's normalised URL, never the payload's string: the URL that was
judged is the URL that is opened. No other code hands a URL from a payload to a browser. The
browser is started with Python's :mod:`webbrowser` (which honours ``$BROWSER``) on a daemon
thread, because some launchers block until the browser exits.
"""

from __future__ import annotations

import html
import logging
import threading
import webbrowser
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtGui import QTextOption
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QStyle,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from holmtray.core.alerts.links import LinkDecision, Verdict, decide
from holmtray.core.text import show_bidi_controls

log = logging.getLogger("holmtray.ui.links")

ASK_TITLE = "Open link?"
REFUSE_TITLE = "Link not opened"
HOSTS_HINT = "Add trusted hosts in Settings → Security Center hosts."
_SHOWN_URL_CHARS = 300  # in the refusal box; the URL there is evidence, not something to open
_HOST_STYLE = "color:#000000; background-color:#fde68a;"


def loggable_url(url: str) -> str:
    """``url`` without the parts that may carry secrets (user info, query, fragment)."""
    cut = len(url)
    for mark in ("?", "#"):
        at = url.find(mark)
        if at >= 0:
            cut = min(cut, at)
    shown = url[:cut] + ("?…" if cut < len(url) else "")
    scheme_end = shown.find("//")
    if scheme_end >= 0:
        authority_end = shown.find("/", scheme_end + 2)
        authority = shown[scheme_end + 2 : None if authority_end < 0 else authority_end]
        if "@" in authority:
            masked = "***@" + authority.rsplit("@", 1)[1]
            shown = shown[: scheme_end + 2] + masked + shown[scheme_end + 2 + len(authority) :]
    return shown[:200]


def launch_browser(url: str) -> None:
    """Hand ``url`` to the user's browser without blocking the GUI thread; log failures."""

    def run() -> None:
        try:
            opened = webbrowser.open(url)
        except Exception:
            log.exception("starting the browser for %r failed", loggable_url(url))
            return
        if not opened:
            log.warning("no browser could be started for %r (set $BROWSER?)", loggable_url(url))

    threading.Thread(target=run, name="holmtray-browser", daemon=True).start()


def host_text(decision: LinkDecision) -> str:
    """The host the browser will contact, and for an internationalised name its Unicode form.

    Plain text. The Unicode form is isolated left-to-right (with any direction control in it
    written out) so that right-to-left letters cannot reorder what stands around it.
    """
    text = f"The browser will contact: {decision.host}"
    if decision.unicode_host:
        shown = show_bidi_controls(decision.unicode_host)
        text += f"\nThe same name in Unicode letters: \u2066{shown}\u2069"
    return text


def url_html(decision: LinkDecision) -> str:
    """The URL as rich text: every piece escaped, the host highlighted in bold."""
    url = decision.url
    start, end = decision.host_span
    if end <= start:
        return html.escape(url)
    return (
        html.escape(url[:start])
        + f'<b style="{_HOST_STYLE}">'
        + html.escape(url[start:end])
        + "</b>"
        + html.escape(url[end:])
    )


class LinkConfirmDialog(QDialog):
    """Asks before opening a link to a host that is not a Security Center host."""

    def __init__(self, decision: LinkDecision, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(ASK_TITLE)
        self.setModal(True)
        self.setMinimumWidth(480)

        icon = QLabel()
        icon.setPixmap(
            self.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxWarning).pixmap(48)
        )
        icon.setAlignment(Qt.AlignmentFlag.AlignTop)

        heading = QLabel("This link is not known to lead to a Security Center host.")
        heading.setTextFormat(Qt.TextFormat.PlainText)
        font = heading.font()
        font.setBold(True)
        heading.setFont(font)

        # The reason names the host, which comes from the payload: plain text.
        # Not capitalised: it usually starts with the host name, shown exactly as it is.
        self.reason_label = QLabel(decision.reason + ".")
        self.reason_label.setTextFormat(Qt.TextFormat.PlainText)
        self.reason_label.setWordWrap(True)

        # The host once more on its own, so a long URL cannot push it out of sight.
        self.host_label = QLabel(host_text(decision))
        self.host_label.setTextFormat(Qt.TextFormat.PlainText)
        self.host_label.setWordWrap(True)
        self.host_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        intro = QLabel("Check the whole address before you open it:")
        intro.setTextFormat(Qt.TextFormat.PlainText)

        # A read-only text box, not a label: a label cannot break a long URL, and a URL with no
        # spaces would make the dialog as wide as the URL. No anchors are ever produced (every
        # piece is escaped), so nothing in it is clickable.
        self.url_view = QTextEdit()
        self.url_view.setReadOnly(True)
        self.url_view.setTextInteractionFlags(
            Qt.TextInteractionFlag.TextSelectableByMouse
            | Qt.TextInteractionFlag.TextSelectableByKeyboard
        )
        self.url_view.setWordWrapMode(QTextOption.WrapMode.WrapAnywhere)
        self.url_view.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.url_html = url_html(decision)
        self.url_view.setHtml(f'<span style="font-family:monospace">{self.url_html}</span>')
        lines = min(6, max(2, len(decision.url) // 56 + 1))
        self.url_view.setFixedHeight(self.url_view.fontMetrics().lineSpacing() * lines + 14)

        hint = QLabel(HOSTS_HINT)
        hint.setTextFormat(Qt.TextFormat.PlainText)
        hint.setStyleSheet("color: palette(placeholder-text);")

        buttons = QDialogButtonBox()
        self.open_button = QPushButton("Open")
        self.cancel_button = QPushButton("Cancel")
        buttons.addButton(self.open_button, QDialogButtonBox.ButtonRole.AcceptRole)
        buttons.addButton(self.cancel_button, QDialogButtonBox.ButtonRole.RejectRole)
        # Enter must never open an unknown host by accident.
        self.open_button.setAutoDefault(False)
        self.cancel_button.setDefault(True)
        self.cancel_button.setFocus()
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)

        text = QVBoxLayout()
        text.addWidget(heading)
        text.addWidget(self.reason_label)
        text.addWidget(self.host_label)
        text.addWidget(intro)
        text.addWidget(self.url_view)
        text.addWidget(hint)
        row = QHBoxLayout()
        row.addWidget(icon)
        row.addLayout(text, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(buttons)


def confirm_dialog(decision: LinkDecision, parent: QWidget | None) -> bool:
    """Show :class:`LinkConfirmDialog`; True only if the user pressed "Open"."""
    dialog = LinkConfirmDialog(decision, parent)
    try:
        return dialog.exec() == QDialog.DialogCode.Accepted
    finally:
        dialog.deleteLater()


def refusal_box(decision: LinkDecision, parent: QWidget | None) -> QMessageBox:
    """The warning shown for a refused link (plain text: URL and reason come from a payload)."""
    shown = decision.url
    if len(shown) > _SHOWN_URL_CHARS:
        shown = shown[:_SHOWN_URL_CHARS] + "…"
    box = QMessageBox(parent)
    box.setIcon(QMessageBox.Icon.Warning)
    box.setWindowTitle(REFUSE_TITLE)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(f"holmtray did not open this link: {decision.reason}.")
    box.setInformativeText(shown)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return box


def warn_refused(decision: LinkDecision, parent: QWidget | None) -> None:
    box = refusal_box(decision, parent)
    try:
        box.exec()
    finally:
        box.deleteLater()


class LinkOpener:
    """Opens event links after :func:`decide` and, for unknown hosts, the user agree.

    The browser is handed ``decision.url`` (the normalised URL that was judged and shown),
    never the string it was given.
    """

    def __init__(
        self,
        *,
        hosts: Callable[[], list[str]],
        launch: Callable[[str], None] | None = None,
        confirm: Callable[[LinkDecision, QWidget | None], bool] | None = None,
        warn: Callable[[LinkDecision, QWidget | None], None] | None = None,
    ) -> None:
        # hosts is a callable so a change in Settings applies to the next click.
        self._hosts = hosts
        self._launch = launch if launch is not None else launch_browser
        self._confirm = confirm if confirm is not None else confirm_dialog
        self._warn = warn if warn is not None else warn_refused

    def open(self, url: str | None, parent: QWidget | None = None) -> bool:
        """Open ``url`` if it is safe or the user agrees; True if the browser was asked."""
        decision = decide(url, self._hosts())
        shown = loggable_url(decision.url)
        if decision.verdict is Verdict.OPEN:
            log.info("opening link %r: %s", shown, decision.reason)
            self._launch(decision.url)
            return True
        if decision.verdict is Verdict.ASK:
            if self._confirm(decision, parent):
                log.info("opening link %r after confirmation: %s", shown, decision.reason)
                self._launch(decision.url)
                return True
            log.info("link %r not opened: the user cancelled (%s)", shown, decision.reason)
            return False
        log.info("link %r refused: %s", shown, decision.reason)
        self._warn(decision, parent)
        return False
