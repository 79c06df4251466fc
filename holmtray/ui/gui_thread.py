"""Handing work from other threads to the GUI thread without touching short-lived Qt objects.

A worker thread (the receiver's loop, the writer, a connection test) must not emit a signal on
a widget or dialog the user may close meanwhile: if the object is being deleted on the GUI
thread while the worker emits on it, or the worker drops the last reference to a parentless
QObject (deleting it on the wrong thread), the process crashes in Qt's event processing later,
far from the cause. So workers never touch such objects. They call :func:`call_in_gui` with a
plain Python callable; one bridge object, a child of the application that lives as long as it,
queues the call to the GUI thread. :func:`deliver_to` wraps a method of a QObject so that the
call is dropped when that object has been deleted by the time it runs.

The bridge is made on the GUI thread (its thread affinity is the thread that makes it), by
:func:`install` at start-up (the tray app: once its icon is shown, since the bridge's queued
connection reads PySide6's Qt namespace, which costs ~20 ms the first time) or by the first
GUI-side constructor that needs it.
"""

from __future__ import annotations

import logging
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

import shiboken6
from PySide6 import QtCore
from PySide6.QtCore import QCoreApplication, QObject, Signal

log = logging.getLogger("holmtray.ui.gui_thread")

_O = TypeVar("_O", bound=QObject)


class _Bridge(QObject):
    posted = Signal(object)

    def __init__(self, parent: QObject) -> None:
        super().__init__(parent)
        self.posted.connect(self._run, QtCore.Qt.ConnectionType.QueuedConnection)

    def _run(self, fn: Callable[[], None]) -> None:
        try:
            fn()
        except Exception:
            log.exception("a call handed to the GUI thread failed")


_bridges: dict[int, _Bridge] = {}  # id(QCoreApplication) -> its bridge
_lock = threading.Lock()


def install() -> None:
    """Make this application's bridge now (call on the GUI thread, after the QApplication)."""
    app = QCoreApplication.instance()
    if app is None:
        raise RuntimeError("gui_thread.install() needs a QApplication")
    if threading.current_thread() is not threading.main_thread():
        raise RuntimeError("gui_thread.install() must run on the GUI thread")
    with _lock:
        bridge = _bridges.get(id(app))
        if bridge is None or not shiboken6.isValid(bridge):
            _bridges.clear()  # a bridge of an application that is gone
            _bridges[id(app)] = _Bridge(app)


def call_in_gui(fn: Callable[[], None]) -> None:
    """Run ``fn`` on the GUI thread, soon; callable from any thread. Dropped when the
    application has gone (shutting down)."""
    app = QCoreApplication.instance()
    with _lock:
        bridge = _bridges.get(id(app)) if app is not None else None
    if bridge is None or not shiboken6.isValid(bridge):
        log.debug("no GUI thread to hand a call to (shutting down)")
        return
    bridge.posted.emit(fn)


def deliver_to(obj: _O, method: Callable[[_O], Callable[..., None]]) -> Callable[..., None]:
    """A callable for workers: ``deliver_to(dialog, lambda d: d.show_result)(args…)`` runs
    ``dialog.show_result(args…)`` on the GUI thread if the dialog still exists then.

    Only a weak reference to ``obj`` crosses to the worker, so the worker never holds (nor
    drops) the last reference to a Qt object.
    """
    install()  # on the GUI thread: ``deliver_to`` is called where the work is started
    ref = weakref.ref(obj)

    def post(*args: Any) -> None:
        def run() -> None:
            target = ref()
            if target is not None and shiboken6.isValid(target):
                method(target)(*args)

        call_in_gui(run)

    return post
