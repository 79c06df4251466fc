"""The GUI's view of the active source's history: a read-only Store and the event window on it.

The event source may change the database it stores into: a switch between receiving
directly and subscribing to a relay, a relay's first mirror, a relay whose history was reset.
:meth:`HistoryView.use` then reopens the read-only store on the new database and puts a new
:class:`~holmtray.ui.events.window.EventWindow` on it (shown where the old one was, if it was
shown; the layout is saved and restored as usual). A new window rather than a reloaded one:
everything the old one held — its undo stack, its pending writes, an id filter — belongs to
the old database. Its writes are bound to its database (``write(operation, database=…)``), so a
late write can never land in another one.

In relay mode before the relay has named itself there is no database yet: the window then
shows an empty, private placeholder database (a temporary folder, removed on close).
"""

from __future__ import annotations

import concurrent.futures
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QWidget

from holmtray.core.history.database import StoreError

if TYPE_CHECKING:
    from holmtray.core.history.store import Store
    from holmtray.ui.events.empty_state import WebhookUrl
    from holmtray.ui.events.window import EventWindow
    from holmtray.ui.history_writes import Operation
    from holmtray.ui.welcome import SendTest

log = logging.getLogger("holmtray.ui.history_view")

BoundWrite = Callable[..., "concurrent.futures.Future[Any]"]
"""``write(operation, database=path)``: :meth:`ReceiverThread.write`."""


class HistoryView:
    """Owns the GUI's read-only store and the event window; see the module docstring."""

    def __init__(
        self,
        *,
        write: BoundWrite,
        open_link: Callable[[str, QWidget], None],
        state_path: Path,
        on_window: Callable[[EventWindow], None],
        webhook_url: WebhookUrl | None = None,
        send_test: SendTest | None = None,
    ) -> None:
        self._write = write
        self._open_link = open_link
        self._state_path = state_path
        self._webhook_url = webhook_url
        self._send_test = send_test
        self._on_window = on_window
        self._empty: tempfile.TemporaryDirectory[str] | None = None
        self.path: Path | None = None  # the source's database (None: none yet)
        self.store: Store | None = None
        self.window: EventWindow | None = None
        self._retired: list[EventWindow] = []  # old windows until Qt has deleted them

    def use(self, path: Path | None, *, checked: bool = True) -> bool:
        """Show ``path``'s events (``None``: an empty list); ``True`` if anything changed.

        ``checked``: the file was just opened (and checked) by its writer, so the read-only
        open skips the structural check."""
        if self.store is not None and path == self.path:
            return False
        store = self._open(path, checked=checked)
        old_store, old_window = self.store, self.window
        visible = old_window is not None and old_window.isVisible()
        if old_window is not None:
            old_window.save_state()
        database = store.path

        def write(operation: Operation) -> concurrent.futures.Future[Any]:
            return self._write(operation, database=database)

        # Imported with the first window, after the tray icon is shown (start-up, issue 16).
        from holmtray.ui.events.window import EventWindow  # noqa: PLC0415

        window = EventWindow(
            store=store,
            write=write,
            open_link=self._open_link,
            state_path=self._state_path,
            webhook_url=self._webhook_url,
            send_test=self._send_test,
        )
        self.path, self.store, self.window = path, store, window
        self._on_window(window)
        if old_window is not None:
            log.info("the event list now shows %s", path or "no database (not subscribed yet)")
            if visible:
                window.show()
            old_window.hide()
            self._retire(old_window)
        if old_store is not None:
            old_store.close()
        return True

    def _retire(self, window: EventWindow) -> None:
        """Delete ``window`` on this (the GUI) thread, soon. It is held until then: dropped,
        the garbage collector could free it on another thread, where Qt cannot stop its
        timers."""
        self._retired.append(window)
        window.destroyed.connect(lambda *_: self._retired.remove(window))
        window.deleteLater()

    def _open(self, path: Path | None, *, checked: bool) -> Store:
        from holmtray.core.history.store import Store  # noqa: PLC0415 (after the tray icon)

        if path is not None:
            try:
                return Store.open(path, check=not checked, readonly=True)
            except StoreError as exc:
                log.error("cannot read %s: %s", path, exc)
        return Store.open(self._placeholder(), check=False, readonly=True)

    def _placeholder(self) -> Path:
        """An empty database nobody writes to."""
        if self._empty is None:
            self._empty = tempfile.TemporaryDirectory(prefix="holmtray-empty-")
        path = Path(self._empty.name) / "empty.db"
        from holmtray.core.history.store import Store  # noqa: PLC0415 (after the tray icon)

        Store.create_empty(path)
        return path

    def close(self) -> None:
        if self.window is not None:
            self.window.save_state()
        if self.store is not None:
            self.store.close()
            self.store = None
        if self._empty is not None:
            self._empty.cleanup()
            self._empty = None
