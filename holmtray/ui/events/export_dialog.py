"""The event window's side of an export: where to, a cancellable progress, and what then.

The export itself (formats, paging, the ``.part`` file) is
:class:`holmtray.core.history.export.ExportJob`; this module suggests where to write (a dated
file name in the user's Documents or Downloads folder, not the working directory; after one
export, that export's folder), asks, then runs the job one page per turn of the event loop
under a progress dialog that can cancel it, and reports the outcome in the window's status
bar, with a "Show in folder" button beside a finished export's message (:class:`ExportFlow`).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QStandardPaths, Qt, QTimer, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QFileDialog, QMainWindow, QProgressDialog, QPushButton, QWidget

from holmtray.core.history.database import StoreError
from holmtray.core.history.export import ExportJob
from holmtray.core.history.query import EventQuery
from holmtray.core.history.store import Store

Report = Callable[[str, Exception], None]
"""Tells the user something failed: ``report("Cannot export", exc)``."""
Done = Callable[[Path, int], None]
"""An export finished: ``done(path, events written)``."""
ShowInFolder = Callable[[Path], None]


def show_in_file_manager(path: Path) -> None:
    """Open the folder holding ``path`` in the desktop's file manager."""
    QDesktopServices.openUrl(QUrl.fromLocalFile(str(path.parent)))


def default_folder() -> Path:
    """The user's Documents folder, else Downloads, else home: where an export is offered."""
    for location in (
        QStandardPaths.StandardLocation.DocumentsLocation,
        QStandardPaths.StandardLocation.DownloadLocation,
    ):
        folder = QStandardPaths.writableLocation(location)
        if folder and Path(folder).is_dir():
            return Path(folder)
    return Path.home()


def export_file_name(fmt: str, now: datetime) -> str:
    """``holmtray-events-2024-03-13.csv``: dated, so exports on different days never clash."""
    return f"holmtray-events-{now.astimezone():%Y-%m-%d}.{fmt}"


def ask_export_path(parent: QWidget, fmt: str, *, suggested: Path) -> Path | None:
    """Ask where to export to (``csv`` or ``json``), offering ``suggested``; ``None`` if the
    user cancelled."""
    caption = "Export events to CSV" if fmt == "csv" else "Export events to JSON"
    pattern = "CSV files (*.csv)" if fmt == "csv" else "JSON files (*.json)"
    name, _ = QFileDialog.getSaveFileName(parent, caption, str(suggested), pattern)
    return Path(name) if name else None


def run_export(
    *,
    window: QMainWindow,
    store: Store,
    query: EventQuery,
    path: Path,
    fmt: str,
    report: Report,
    done: Done,
) -> QProgressDialog | None:
    """Export in steps on the event loop, with a progress dialog that can cancel it.

    Returns the progress dialog (it deletes itself when the export ends), or ``None`` if the
    export could not start (reported).
    """
    try:
        # Exact, unlike the window's label: the progress bar needs it, and an export of many
        # events takes far longer than counting them.
        total = store.count(query)
        job = ExportJob(store=store, query=query, path=path, fmt=fmt)
    except (OSError, StoreError) as exc:
        report("Cannot export", exc)
        return None
    progress = QProgressDialog(f"Exporting to {path.name}…", "Cancel", 0, max(total, 1), window)
    progress.setWindowTitle("Export")
    progress.setWindowModality(Qt.WindowModality.WindowModal)
    progress.setMinimumDuration(300)
    timer = QTimer(progress)
    timer.setInterval(0)

    def finish(error: Exception | None = None) -> None:
        timer.stop()
        if error is not None:
            job.abort()
            report("Export failed", error)
        elif progress.wasCanceled():
            job.abort()
            window.statusBar().showMessage("Export cancelled.", 5000)
        else:
            try:
                job.finish()
            except OSError as exc:
                job.abort()
                report("Export failed", exc)
            else:
                done(path, job.written)
        progress.reset()
        progress.deleteLater()

    def step() -> None:
        if progress.wasCanceled():
            finish()
            return
        try:
            more = job.step()
        except (OSError, StoreError) as exc:
            finish(exc)
            return
        progress.setValue(min(job.written, progress.maximum()))
        if not more:
            finish()

    timer.timeout.connect(step)
    timer.start()
    return progress


class ExportFlow:
    """One window's exports: the file dialog, the progress, and "Show in folder" afterwards.

    ``query`` gives the events to export (the window's filter and order) when one starts.
    """

    def __init__(
        self,
        *,
        window: QMainWindow,
        store: Store,
        query: Callable[[], EventQuery],
        report: Report,
        clock: Callable[[], datetime],
        show_in_folder: ShowInFolder,
    ) -> None:
        self._window = window
        self._store = store
        self._query = query
        self._report = report
        self._clock = clock
        self._show_in_folder = show_in_folder
        self.progress: QProgressDialog | None = None
        self._folder: Path | None = None  # where the last export went, this session
        self._exported: Path | None = None
        self.folder_button = QPushButton("Show in folder")
        self.folder_button.setFlat(True)
        self.folder_button.setVisible(False)
        self.folder_button.clicked.connect(self._open_folder)
        window.statusBar().addPermanentWidget(self.folder_button)
        window.statusBar().messageChanged.connect(self._status_changed)

    def ask(self, fmt: str) -> None:
        """Ask for a file name (dated, in Documents or Downloads) and export there."""
        suggested = (self._folder or default_folder()) / export_file_name(fmt, self._clock())
        path = ask_export_path(self._window, fmt, suggested=suggested)
        if path is not None:
            self.start(path, fmt)

    def start(self, path: Path, fmt: str) -> None:
        """Export in steps on the event loop, with a progress dialog that can cancel it."""
        progress = run_export(
            window=self._window,
            store=self._store,
            query=self._query(),
            path=path,
            fmt=fmt,
            report=self._report,
            done=self._done,
        )
        if progress is not None:
            self.progress = progress

    def _done(self, path: Path, n: int) -> None:
        self._folder = path.parent
        self._window.statusBar().showMessage(f"Exported {n:,} events to {path}.", 15_000)
        self._exported = path
        self.folder_button.setVisible(True)  # as long as the message shows

    def _status_changed(self, message: str) -> None:
        if self._exported is None or not message.startswith("Exported "):
            self.folder_button.setVisible(False)
            self._exported = None

    def _open_folder(self) -> None:
        if self._exported is not None:
            self._show_in_folder(self._exported)
