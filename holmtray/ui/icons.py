"""Icons: the tray icon in each of its states, kind icons, and the severity colours.

The base artwork is ``resources/holmtray.svg``; states are drawn over it with QPainter at each
size (16 to 64 px) so the badge stays legible instead of being scaled down from a large one.
"""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
from dataclasses import dataclass
from pathlib import Path

from PySide6 import QtCore
from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QIcon,
    QImage,
    QPainter,
    QPainterPath,
    QPen,
    QPixmap,
)
from PySide6.QtSvg import QSvgRenderer

from holmtray.core.eventtypes import Kind, Severity

TRAY_SIZES = (16, 22, 24, 32, 48, 64)

# The Qt namespace is read where it is used (``QtCore.Qt``), never imported at the top: PySide6
# makes all of its enums on the first access (~20 ms here), and the tray icon's first picture
# (the artwork alone) does without it, so the icon is shown before that cost (issue 16.3).
TRANSPARENT = QColor(0, 0, 0, 0)
"""``Qt.GlobalColor.transparent``, without the namespace."""

SEVERITY_COLORS: dict[Severity, str] = {
    Severity.CRITICAL: "#b91c1c",
    Severity.HIGH: "#ea580c",
    Severity.MEDIUM: "#ca8a04",
    Severity.LOW: "#2563eb",
    Severity.INFO: "#6b7280",
}


def resource_path(name: str) -> Path:
    """A file from ``resources/`` whether installed (``holmtray.resources``) or in a checkout."""
    # The package's folders from its spec, not importlib.resources (~2 ms to import before
    # the icon); the installed package is plain files, never a zip.
    spec = importlib.util.find_spec("holmtray.resources")
    for folder in (spec.submodule_search_locations or []) if spec is not None else []:
        candidate = Path(folder) / name
        if candidate.exists():
            return candidate
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


_BADGE_MAX = 100


def badge_text(n: int) -> str:
    """What the badge says for ``n`` unread events: ``"1"`` to ``"99"``, then ``"99+"``."""
    return str(n) if n < _BADGE_MAX else "99+"


def icon_look(state: TrayState) -> TrayState:
    """A state that :func:`render` draws exactly as it draws ``state``: every count from 100 up
    is shown as "99+", so they all become 100. The tray re-renders its six pixmaps only when
    this changes, not for every event that comes in on top of a hundred unread."""
    if state.unread <= _BADGE_MAX:
        return state
    return dataclasses.replace(state, unread=_BADGE_MAX)


def render(state: TrayState, size: int) -> QPixmap:
    """The tray icon for ``state`` at ``size`` x ``size`` pixels."""
    pm = QPixmap(size, size)
    pm.fill(TRANSPARENT)
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
        _draw_badge(p, size, badge_text(state.unread), state.highest or Severity.INFO)
    elif state.offline and not state.error:
        _draw_offline(p, size)
    p.end()
    return pm


# Below 20 px a font's digits blur into each other, so the badge is drawn pixel by pixel with
# these 3 x 5 glyphs (rows top to bottom, "#" = lit).
_PIXEL_GLYPHS = {
    "0": ("###", "#.#", "#.#", "#.#", "###"),
    "1": (".#.", "##.", ".#.", ".#.", "###"),
    "2": ("###", "..#", "###", "#..", "###"),
    "3": ("###", "..#", "###", "..#", "###"),
    "4": ("#.#", "#.#", "###", "..#", "..#"),
    "5": ("###", "#..", "###", "..#", "###"),
    "6": ("###", "#..", "###", "#.#", "###"),
    "7": ("###", "..#", "..#", ".#.", ".#."),
    "8": ("###", "#.#", "###", "#.#", "###"),
    "9": ("###", "#.#", "###", "..#", "###"),
    "+": ("...", ".#.", "###", ".#.", "..."),
}
_PIXEL_BELOW = 20


def badge_rect(size: int, text: str) -> QRectF:
    """Where the badge for ``text`` goes: the bottom right, as wide as its text needs (up to
    the whole width), tall enough for digits a reader can tell apart at 16 px."""
    if size < _PIXEL_BELOW:
        px = 9  # 1 px outline, 1 px padding, 5 px glyphs, 1 px padding, 1 px outline
        pw = min(size, max(px, 4 * len(text) - 1 + 4))
        return QRectF(size - pw, size - px, pw, px)
    h = max(9.0, round(size * 0.5))
    w = min(float(size), max(h, _badge_metrics(h).horizontalAdvance(text) + h * 0.45))
    return QRectF(size - w, size - h, w, h)


def _badge_pixels(h: float) -> int:
    return max(8, round(h * 0.9))


def _badge_metrics(h: float) -> QFontMetricsF:
    return QFontMetricsF(_badge_font(_badge_pixels(h)))


def _badge_font(pixels: int) -> QFont:
    font = QFont("DejaVu Sans Condensed")
    font.setBold(True)
    font.setPixelSize(pixels)
    font.setHintingPreference(QFont.HintingPreference.PreferFullHinting)
    return font


def _badge_ink(severity: Severity) -> QColor:
    """Text on the badge: white, except on the light medium colour, where dark reads better."""
    return QColor("#1f2937" if severity is Severity.MEDIUM else "#ffffff")


@functools.cache
def _grey_shield(size: int) -> QImage:
    """The artwork in grey (kept transparent where it was), faded."""
    colour = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    colour.fill(TRANSPARENT)
    p = QPainter(colour)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    _renderer().render(p, QRectF(0, 0, size, size))
    p.end()
    grey = colour.convertToFormat(QImage.Format.Format_Grayscale8).convertToFormat(
        QImage.Format.Format_ARGB32
    )
    grey.setAlphaChannel(colour.convertToFormat(QImage.Format.Format_Alpha8))
    faded = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    faded.fill(TRANSPARENT)
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
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#ffffff")))
    p.drawRect(bar)


def _draw_badge(p: QPainter, size: int, text: str, severity: Severity) -> None:
    rect = badge_rect(size, text)
    fill = QColor(SEVERITY_COLORS[severity])
    if size < _PIXEL_BELOW:
        _draw_pixel_badge(p, rect, text, fill, _badge_ink(severity))
        return
    radius = rect.height() / 2
    p.setPen(QPen(QColor("#ffffff"), size / 24))
    p.setBrush(QBrush(fill))
    p.drawRoundedRect(rect.adjusted(0.5, 0.5, -0.5, -0.5), radius, radius)
    p.setFont(_badge_font(_badge_pixels(rect.height())))
    p.setPen(_badge_ink(severity))
    p.drawText(rect, QtCore.Qt.AlignmentFlag.AlignCenter, text)


def _draw_pixel_badge(p: QPainter, rect: QRectF, text: str, fill: QColor, ink: QColor) -> None:
    """A crisp badge on the pixel grid: white outline with its corners cut, the glyphs."""
    x, y, w, h = int(rect.x()), int(rect.y()), int(rect.width()), int(rect.height())
    p.save()
    p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#ffffff")))
    p.drawRect(x + 1, y, w - 2, h)  # the outline, corners left out
    p.drawRect(x, y + 1, w, h - 2)
    p.setBrush(QBrush(fill))
    p.drawRect(x + 1, y + 1, w - 2, h - 2)
    p.setBrush(QBrush(ink))
    gx = x + (w - (4 * len(text) - 1)) // 2
    for ch in text:
        for row, bits in enumerate(_PIXEL_GLYPHS[ch]):
            for col, bit in enumerate(bits):
                if bit == "#":
                    p.drawRect(gx + col, y + 2 + row, 1, 1)
        gx += 4
    p.restore()


def paused_mark_rect(size: int) -> QRectF:
    """Where the paused mark goes: the top left, clear of the badge at the bottom."""
    d = 7.0 if size < _PIXEL_BELOW else max(7.0, size * 0.45)
    return QRectF(0, 0, d, d)


def _draw_paused(p: QPainter, size: int) -> None:
    # Top left: the badge takes the bottom edge, and the count must stay readable.
    if size < _PIXEL_BELOW:
        p.save()
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        p.setPen(QtCore.Qt.PenStyle.NoPen)
        p.setBrush(QBrush(QColor("#ffffff")))
        p.drawRect(1, 0, 5, 7)  # a 7 x 7 outline with its corners cut, on light and dark
        p.drawRect(0, 1, 7, 5)
        p.setBrush(QBrush(QColor("#374151")))
        p.drawRect(1, 1, 5, 5)
        p.setBrush(QBrush(QColor("#ffffff")))
        p.drawRect(2, 2, 1, 3)
        p.drawRect(4, 2, 1, 3)
        p.restore()
        return
    rect = paused_mark_rect(size)
    d = rect.width()
    p.setPen(QPen(QColor("#ffffff"), 1.0 if size < 32 else size / 24))
    p.setBrush(QBrush(QColor("#4b5563")))
    p.drawEllipse(rect.adjusted(0.5, 0.5, -0.5, -0.5))
    bar_w, bar_h = max(1.0, d * 0.16), d * 0.46
    top = rect.center().y() - bar_h / 2
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor("#ffffff")))
    gap = max(1.0, d * 0.14)
    for x in (rect.center().x() - gap / 2 - bar_w, rect.center().x() + gap / 2):
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
    p.drawText(
        QRectF(size - d, size - d * 0.75, d, d * 0.75), QtCore.Qt.AlignmentFlag.AlignCenter, "!"
    )


def tray_icon(state: TrayState) -> QIcon:
    icon = QIcon()
    for size in TRAY_SIZES:
        icon.addPixmap(render(state, size))
    return icon


@functools.cache
def app_icon() -> QIcon:
    return tray_icon(TrayState())


KIND_ICON_COLOR = "#5b6472"
"""One neutral grey for every kind icon: the severity column owns the colours of a row."""


def _pen(size: int, colour: str = KIND_ICON_COLOR) -> QPen:
    pen = QPen(QColor(colour), max(1.2, size / 11))
    pen.setCapStyle(QtCore.Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(QtCore.Qt.PenJoinStyle.RoundJoin)
    return pen


def _draw_finished_scan(p: QPainter, s: float) -> None:
    # A radar sweep: a ring, and a check mark inside it (a scan that came back).
    p.drawEllipse(QRectF(s * 0.1, s * 0.1, s * 0.8, s * 0.8))
    path = QPainterPath(QPointF(s * 0.3, s * 0.52))
    path.lineTo(QPointF(s * 0.45, s * 0.66))
    path.lineTo(QPointF(s * 0.71, s * 0.36))
    p.drawPath(path)


def _draw_scheduled_scan(p: QPainter, s: float) -> None:
    # A clock face.
    p.drawEllipse(QRectF(s * 0.1, s * 0.1, s * 0.8, s * 0.8))
    p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.5, s * 0.27))
    p.drawLine(QPointF(s * 0.5, s * 0.5), QPointF(s * 0.68, s * 0.6))


def _draw_ticket(p: QPainter, s: float) -> None:
    # A ticket stub: a card with a notch on each side.
    path = QPainterPath()
    left, top, right, bottom = s * 0.08, s * 0.22, s * 0.92, s * 0.78
    notch = s * 0.1
    mid = (top + bottom) / 2
    path.moveTo(left, top)
    path.lineTo(right, top)
    path.lineTo(right, mid - notch)
    path.arcTo(QRectF(right - notch, mid - notch, 2 * notch, 2 * notch), 90, 180)
    path.lineTo(right, bottom)
    path.lineTo(left, bottom)
    path.lineTo(left, mid + notch)
    path.arcTo(QRectF(left - notch, mid - notch, 2 * notch, 2 * notch), 270, 180)
    path.closeSubpath()
    p.drawPath(path)
    dash = QPen(p.pen())
    dash.setStyle(QtCore.Qt.PenStyle.DotLine)
    p.setPen(dash)
    p.drawLine(QPointF(s * 0.62, top + s * 0.08), QPointF(s * 0.62, bottom - s * 0.08))


def _draw_custom(p: QPainter, s: float) -> None:
    # Braces: whatever JSON the template made.
    for flip in (1, -1):
        cx = s * 0.5 - flip * s * 0.26
        path = QPainterPath(QPointF(cx + flip * s * 0.1, s * 0.14))
        path.quadTo(QPointF(cx, s * 0.14), QPointF(cx, s * 0.3))
        path.lineTo(QPointF(cx, s * 0.42))
        path.quadTo(QPointF(cx, s * 0.5), QPointF(cx - flip * s * 0.08, s * 0.5))
        path.quadTo(QPointF(cx, s * 0.5), QPointF(cx, s * 0.58))
        path.lineTo(QPointF(cx, s * 0.7))
        path.quadTo(QPointF(cx, s * 0.86), QPointF(cx + flip * s * 0.1, s * 0.86))
        p.drawPath(path)
    p.setBrush(QBrush(QColor(KIND_ICON_COLOR)))
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    for x in (0.4, 0.6):
        p.drawEllipse(QPointF(s * x, s * 0.5), s * 0.05, s * 0.05)


_KIND_DRAW = {
    Kind.FINISHED_SCAN: _draw_finished_scan,
    Kind.SCHEDULED_SCAN: _draw_scheduled_scan,
    Kind.TICKET: _draw_ticket,
    Kind.CUSTOM: _draw_custom,
}


@functools.cache
def kind_icon(kind: Kind, size: int = 16) -> QIcon:
    """A small line drawing per kind, in one neutral grey (the event table's kind column and
    the kind filter)."""
    icon = QIcon()
    for px in (size, size * 2):
        pm = QPixmap(px, px)
        pm.fill(TRANSPARENT)
        p = QPainter(pm)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(_pen(px))
        p.setBrush(QtCore.Qt.BrushStyle.NoBrush)
        _KIND_DRAW[kind](p, float(px))
        p.end()
        icon.addPixmap(pm)
    return icon


@functools.cache
def attention_icon(size: int = 16) -> QIcon:
    """A red round "!": the event needs attention (a scan that failed or reported errors)."""
    pm = QPixmap(size, size)
    pm.fill(TRANSPARENT)
    p = QPainter(pm)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setPen(QtCore.Qt.PenStyle.NoPen)
    p.setBrush(QBrush(QColor(SEVERITY_COLORS[Severity.CRITICAL])))
    p.drawEllipse(QRectF(1, 1, size - 2, size - 2))
    font = QFont("DejaVu Sans")
    font.setBold(True)
    font.setPixelSize(int(size * 0.7))
    p.setFont(font)
    p.setPen(QColor("#ffffff"))
    p.drawText(QRectF(0, 0, size, size), QtCore.Qt.AlignmentFlag.AlignCenter, "!")
    p.end()
    return QIcon(pm)
