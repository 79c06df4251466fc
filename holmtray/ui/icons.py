"""Icons: the tray icon in each of its states, kind icons, and the severity colours.

The base artwork is ``resources/holmtray.svg``; states are drawn over it with QPainter at each
size (16 to 64 px) so the badge stays legible instead of being scaled down from a large one.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QIcon,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer

from holmtray.core.events import Kind, Severity

TRAY_SIZES = (16, 22, 24, 32, 48, 64)

SEVERITY_COLORS: dict[Severity, str] = {
    Severity.CRITICAL: "#b91c1c",
    Severity.HIGH: "#ea580c",
    Severity.MEDIUM: "#ca8a04",
    Severity.LOW: "#2563eb",
    Severity.INFO: "#6b7280",
}


def resource_path(name: str) -> Path:
    """A file from ``resources/`` whether installed (``holmtray.resources``) or in a checkout."""
    try:
        candidate = Path(str(resources.files("holmtray.resources") / name))
        if candidate.exists():
            return candidate
    except ModuleNotFoundError:
        pass
    return Path(__file__).resolve().parents[2] / "resources" / name


@functools.cache
def _renderer() -> QSvgRenderer:
    renderer = QSvgRenderer(str(resource_path("holmtray.svg")))
    if not renderer.isValid():
        raise RuntimeError(f"cannot read the icon {resource_path('holmtray.svg')}")
    return renderer


@dataclass(frozen=True, slots=True)
class TrayState:
    """What the tray icon shows."""

    unread: int = 0
    highest: Severity | None = None
    paused: bool = False
    error: str | None = None
    offline: bool = False  # no connection to the relay: grey, with a "disconnected" mark


def _badge_text(n: int) -> str:
    return str(n) if n < 100 else "99+"


def render(state: TrayState, size: int) -> QPixmap:
    """The tray icon for ``state`` at ``size`` x ``size`` pixels."""
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    if state.offline and not state.error:
        p.drawImage(QPointF(0, 0), _grey_shield(size))
    else:
        if state.paused or state.error:
            p.setOpacity(0.55)
        _renderer().render(p, QRectF(0, 0, size, size))
        p.setOpacity(1.0)
    if state.error:
        _draw_error(p, size)
    elif state.paused:
        _draw_paused(p, size)
    if state.unread > 0 and not state.error:
        _draw_badge(p, size, _badge_text(state.unread), state.highest or Severity.INFO)
    elif state.offline and not state.error:
        _draw_offline(p, size)
    p.end()
    return pm


@functools.cache
def _grey_shield(size: int) -> QImage:
    """The artwork in grey (kept transparent where it was), faded."""
    colour = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    colour.fill(Qt.GlobalColor.transparent)
    p = QPainter(colour)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    _renderer().render(p, QRectF(0, 0, size, size))
    p.end()
    grey = colour.convertToFormat(QImage.Format.Format_Grayscale8).convertToFormat(
        QImage.Format.Format_ARGB32
    )
    grey.setAlphaChannel(colour.convertToFormat(QImage.Format.Format_Alpha8))
    faded = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    faded.fill(Qt.GlobalColor.transparent)
    p = QPainter(faded)
    p.setOpacity(0.7)
    p.drawImage(QPointF(0, 0), grey)
    p.end()
    return faded


def _draw_offline(p: QPainter, size: int) -> None:
    """A dark grey disc with a white bar, bottom right: "no connection"."""
    d = size * 0.56
    rect = QRectF(size - d, size - d, d, d)
    p.setPen(QPen(QColor("#ffffff"), max(1.0, size / 24)))
    p.setBrush(QBrush(QColor("#4b5563")))
    p.drawEllipse(rect)
    bar = QRectF(rect.left() + d * 0.22, rect.center().y() - d * 0.09, d * 0.56, d * 0.18)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#ffffff")))
    p.drawRect(bar)


def _draw_badge(p: QPainter, size: int, text: str, severity: Severity) -> None:
    # At 16-24 px a number is unreadable past one digit: show a dot with the colour instead.
    d = size * (0.62 if size >= 32 else 0.56)
    if size < 32 and len(text) > 1:
        text = ""
    rect = QRectF(size - d, size - d, d, d)
    if len(text) > 2:
        rect.adjust(-d * 0.35, 0, 0, 0)
    p.setPen(QPen(QColor("#ffffff"), max(1.0, size / 24)))
    p.setBrush(QBrush(QColor(SEVERITY_COLORS[severity])))
    p.drawRoundedRect(rect, d / 2, d / 2)
    if text:
        font = QFont("DejaVu Sans")
        font.setBold(True)
        font.setPixelSize(max(7, int(d * (0.62 if len(text) == 1 else 0.5))))
        p.setFont(font)
        p.setPen(QColor("#ffffff"))
        p.drawText(rect, Qt.AlignmentFlag.AlignCenter, text)


def _draw_paused(p: QPainter, size: int) -> None:
    d = size * 0.5
    rect = QRectF(0, size - d, d, d)
    p.setPen(QPen(QColor("#ffffff"), max(1.0, size / 24)))
    p.setBrush(QBrush(QColor("#4b5563")))
    p.drawEllipse(rect)
    bar_w, bar_h = d * 0.16, d * 0.46
    top = rect.center().y() - bar_h / 2
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#ffffff")))
    for x in (rect.center().x() - bar_w * 1.3, rect.center().x() + bar_w * 0.3):
        p.drawRect(QRectF(x, top, bar_w, bar_h))


def _draw_error(p: QPainter, size: int) -> None:
    d = size * 0.6
    path = QPainterPath()
    path.moveTo(QPointF(size - d / 2, size - d))
    path.lineTo(QPointF(size, size))
    path.lineTo(QPointF(size - d, size))
    path.closeSubpath()
    p.setPen(QPen(QColor("#ffffff"), max(1.0, size / 24)))
    p.setBrush(QBrush(QColor("#dc2626")))
    p.drawPath(path)
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(max(7, int(d * 0.6)))
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRectF(size - d, size - d * 0.75, d, d * 0.75), Qt.AlignmentFlag.AlignCenter, "!")


def tray_icon(state: TrayState) -> QIcon:
    icon = QIcon()
    for size in TRAY_SIZES:
        icon.addPixmap(render(state, size))
    return icon


@functools.cache
def app_icon() -> QIcon:
    return tray_icon(TrayState())


_KIND_GLYPHS = {
    Kind.FINISHED_SCAN: ("#16a34a", "S"),
    Kind.SCHEDULED_SCAN: ("#0891b2", "◷"),
    Kind.TICKET: ("#7c3aed", "T"),
    Kind.CUSTOM: ("#6b7280", "C"),
}


@functools.cache
def kind_icon(kind: Kind, size: int = 16) -> QIcon:
    """A small round glyph per kind, used in the event table's kind column."""
    colour, glyph = _KIND_GLYPHS[kind]
    pm = QPixmap(size, size)
    pm.fill(Qt.GlobalColor.transparent)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor(colour)))
    p.drawEllipse(QRectF(0.5, 0.5, size - 1, size - 1))
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(int(size * 0.62))
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, glyph)
    p.end()
    return QIcon(pm)
