"""Work handed from other threads reaches the GUI thread, and never a deleted object."""

from __future__ import annotations

import gc
import threading

import shiboken6
from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QApplication, QDialog
from pytestqt.qtbot import QtBot

from holmtray.ui.gui_thread import call_in_gui, deliver_to, install


class Target(QObject):
    got = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple[object, str]] = []

    def take(self, value: object) -> None:
        self.calls.append((value, threading.current_thread().name))
        self.got.emit(value)


def in_thread(fn: object, *args: object) -> None:
    t = threading.Thread(target=fn, args=args, name="worker")
    t.start()
    t.join(10)


def test_a_call_from_a_worker_runs_on_the_gui_thread(qtbot: QtBot, qapp: QApplication) -> None:
    install()
    target = Target()
    post = deliver_to(target, lambda t: t.take)
    with qtbot.waitSignal(target.got, timeout=5000):
        in_thread(post, 42)
    assert target.calls == [(42, threading.main_thread().name)]


def test_a_call_for_a_deleted_object_is_dropped(qtbot: QtBot, qapp: QApplication) -> None:
    install()
    dialog = QDialog()
    post = deliver_to(dialog, lambda d: d.setWindowTitle)
    with qtbot.waitSignal(dialog.destroyed, timeout=5000):
        dialog.deleteLater()
    assert not shiboken6.isValid(dialog)
    del dialog
    gc.collect()
    marker = Target()
    in_thread(post, "too late")  # must neither raise nor crash
    with qtbot.waitSignal(marker.got, timeout=5000):  # a later call still runs
        in_thread(deliver_to(marker, lambda t: t.take), "still working")
    assert marker.calls == [("still working", threading.main_thread().name)]


def test_the_worker_holds_no_reference_to_the_qt_object(qapp: QApplication) -> None:
    install()
    target = Target()
    post = deliver_to(target, lambda t: t.take)
    refs_before = len(gc.get_referrers(target))
    assert post.__closure__ is not None
    held = [c.cell_contents for c in post.__closure__]
    assert target not in held  # only a weak reference crosses to the worker
    assert len(gc.get_referrers(target)) == refs_before


def test_call_in_gui_runs_a_plain_callable_on_the_gui_thread(qapp: QApplication) -> None:
    install()
    ran: list[str] = []
    in_thread(call_in_gui, lambda: ran.append(threading.current_thread().name))
    qapp.processEvents()
    assert ran == [threading.main_thread().name]
