"""Saving a widget as a PNG in the artifacts folder, checked to show something."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QImage
from PySide6.QtWidgets import QApplication, QWidget


def save_screenshot(widget: QWidget, path: Path) -> None:
    """Save ``widget`` as a PNG at ``path`` and check that the file is not blank."""
    QApplication.processEvents()  # deferred layouts (a text box's scroll bar) settle first
    assert widget.grab().save(str(path))
    image = QImage(str(path))
    assert not image.isNull()
    assert image.width() >= 400
    assert image.height() >= 300
    colours = {
        QColor(image.pixel(x, y)).name()
        for x in range(0, image.width(), 7)
        for y in range(0, image.height(), 7)
    }
    assert len(colours) > 10, "the screenshot is blank"
