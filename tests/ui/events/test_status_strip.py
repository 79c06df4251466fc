"""The event window's status strip: hidden while all is well, one plain sentence and its
buttons when events are not received; screenshots at the default size and at 1280x800."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QImage
from pytestqt.qtbot import QtBot

from holmtray.core.history.store import Store
from holmtray.ui.events.status_strip import StatusStrip
from holmtray.ui.events.window import EventWindow
from holmtray.ui.source_status import StripAction
from tests.stored_events import insert, varied_events
from tests.ui.writer_thread import WriterThread

PORT_TAKEN = (
    "Not receiving: port 8747 on 127.0.0.1 is already in use (another holmtray or another program)"
)
OFFLINE = (
    "Offline since 09:12: connection refused by hooks.example.org. Events wait on the relay; "
    "next try in 40 s."
)


@pytest.fixture
def window(qtbot: QtBot, tmp_path: Path) -> Iterator[EventWindow]:
    db = tmp_path / "events.db"
    with Store.open(db) as store:
        insert(store, varied_events())
    writer = WriterThread(db)
    gui = Store.open(db, readonly=True, check=False)
    w = EventWindow(
        store=gui,
        write=writer.write,
        open_link=lambda _url, _parent: None,
        state_path=tmp_path / "window.ini",
    )
    qtbot.addWidget(w)
    strip = StatusStrip()
    w.status_area.addWidget(strip)  # where the app puts it
    with qtbot.waitExposed(w):
        w.show()
    yield w
    w.hide()
    writer.close()
    gui.close()


def strip_of(window: EventWindow) -> StatusStrip:
    strip = window.status_area.itemAt(0).widget()
    assert isinstance(strip, StatusStrip)
    return strip


def test_the_strip_is_hidden_until_there_is_something_to_say(window: EventWindow) -> None:
    strip = strip_of(window)
    assert strip.isHidden()
    assert strip.text() is None
    strip.show_status(PORT_TAKEN, (StripAction.CHANGE_PORT, StripAction.RETRY))
    assert strip.isVisible()
    assert strip.label.text() == PORT_TAKEN
    assert strip.label.textFormat().name == "PlainText"
    assert [b.text() for b in strip.buttons] == ["Change port…", "Retry"]
    strip.show_status(None)
    assert strip.isHidden()


def test_the_strip_sits_above_the_filter_bar(window: EventWindow) -> None:
    strip_of(window).show_status(PORT_TAKEN, (StripAction.RETRY,))
    assert strip_of(window).geometry().bottom() < window.filter_bar.geometry().top()


def test_a_button_emits_its_action_and_buttons_follow_the_status(
    qtbot: QtBot, window: EventWindow
) -> None:
    strip = strip_of(window)
    strip.show_status(OFFLINE, (StripAction.RECONNECT,), tone="offline")
    with qtbot.waitSignal(strip.action, timeout=1000) as sig:
        strip.button(StripAction.RECONNECT).click()
    assert sig.args == ["Reconnect now"]
    strip.show_status(PORT_TAKEN, (StripAction.CHANGE_PORT, StripAction.RETRY))
    assert [b.text() for b in strip.buttons] == ["Change port…", "Retry"]
    with pytest.raises(KeyError):
        strip.button(StripAction.RECONNECT)


def test_markup_from_a_relay_is_shown_as_text(qtbot: QtBot) -> None:
    strip = StatusStrip()
    qtbot.addWidget(strip)
    strip.show_status("Not receiving: the relay said <b>no</b> & <img src=x>")
    assert strip.label.text() == "Not receiving: the relay said <b>no</b> & <img src=x>"
    assert strip.label.textFormat().name == "PlainText"


def _save(widget: Any, path: Path) -> QImage:
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    colours = {
        image.pixel(x, y) for x in range(0, image.width(), 7) for y in range(0, image.height(), 7)
    }
    assert len(colours) > 20, f"{path.name} looks blank"
    return image


@pytest.mark.parametrize("size", [None, (1280, 800)], ids=["default", "1280x800"])
def test_screenshots_of_the_window_with_the_strip(
    qtbot: QtBot, window: EventWindow, artifacts: Path, size: tuple[int, int] | None
) -> None:
    suffix = "default" if size is None else f"{size[0]}x{size[1]}"
    if size is not None:
        window.resize(*size)
    strip_of(window).show_status(PORT_TAKEN, (StripAction.CHANGE_PORT, StripAction.RETRY))
    qtbot.wait(50)
    image = _save(window, artifacts / f"event_window_strip_port_{suffix}.png")
    if size is not None:
        assert (image.width(), image.height()) == size
    # The whole sentence is on screen: it wraps rather than being cut off.
    strip = strip_of(window)
    assert strip.label.width() < window.width()
    assert strip.label.heightForWidth(strip.label.width()) <= strip.label.height()
    strip_of(window).show_status(OFFLINE, (StripAction.RECONNECT,), tone="offline")
    qtbot.wait(50)
    _save(window, artifacts / f"event_window_strip_offline_{suffix}.png")
