"""The tray badge: 1 to 99 and "99+", legible at 16, 22 and 32 px, never under the paused mark.

Legible is pinned where it can be: at 16 px the digits are drawn on the pixel grid, so the
badge's pixels must spell the count exactly in its 3 x 5 glyphs. Every size is also saved as
a contact sheet (``artifacts/tray_badges.png``, 8x zoom on light and dark panels) to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QRect, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from pytestqt.qtbot import QtBot

from holmtray.core.events import Severity
from holmtray.ui.icons import TrayState, badge_rect, badge_text, paused_mark_rect, render

SIZES = (16, 22, 32)
GLYPHS = {  # the digits as a reader should see them at 16 px ("#" = ink)
    "5": ("###", "#..", "###", "..#", "###"),
    "7": ("###", "..#", "..#", ".#.", ".#."),
    "9": ("###", "#.#", "###", "..#", "###"),
    "+": ("...", ".#.", "###", ".#.", "..."),
}


@pytest.mark.parametrize(
    ("n", "text"), [(5, "5"), (57, "57"), (99, "99"), (100, "99+"), (150, "99+")]
)
def test_badge_text_counts_to_99_then_says_99_plus(n: int, text: str) -> None:
    assert badge_text(n) == text


def _ink_mask(img: QImage, rect: QRect, ink: QColor) -> list[str]:
    rows = []
    for y in range(rect.top(), rect.bottom() + 1):
        rows.append(
            "".join(
                "#" if img.pixelColor(x, y) == ink else "."
                for x in range(rect.left(), rect.right() + 1)
            )
        )
    return rows


@pytest.mark.parametrize("paused", [False, True])
@pytest.mark.parametrize("n", [5, 57, 150])
def test_at_16_px_the_badge_spells_the_count_pixel_for_pixel(
    qtbot: QtBot, n: int, paused: bool
) -> None:
    text = badge_text(n)
    state = TrayState(unread=n, highest=Severity.CRITICAL, paused=paused)
    img = render(state, 16).toImage()
    rect = badge_rect(16, text).toRect()
    assert rect.width() <= 16
    assert rect.height() == 9
    width = 4 * len(text) - 1
    left = rect.left() + (rect.width() - width) // 2
    glyph_area = QRect(left, rect.top() + 2, width, 5)
    want = ["".join(GLYPHS[c][row] + "." for c in text)[:-1] for row in range(5)]
    assert _ink_mask(img, glyph_area, QColor("#ffffff")) == want
    # Around the glyphs: the severity colour, not a blur.
    fill = img.pixelColor(rect.left() + 1, rect.top() + 1)
    assert fill == QColor("#b91c1c")


@pytest.mark.parametrize("size", [*SIZES, 24, 48, 64])
@pytest.mark.parametrize("n", [5, 57, 150])
def test_the_paused_mark_is_clear_of_the_count(qtbot: QtBot, size: int, n: int) -> None:
    badge = badge_rect(size, badge_text(n))
    mark = paused_mark_rect(size)
    assert not mark.intersects(badge)
    assert QRectF(0, 0, size, size).contains(badge)
    assert QRectF(0, 0, size, size).contains(mark)


def test_badges_are_saved_for_a_look(qtbot: QtBot, artifacts: Path) -> None:
    states = [
        TrayState(unread=5, highest=Severity.HIGH),
        TrayState(unread=57, highest=Severity.CRITICAL),
        TrayState(unread=150, highest=Severity.MEDIUM),
        TrayState(unread=57, highest=Severity.LOW, paused=True),
        TrayState(unread=150, highest=Severity.INFO, paused=True),
        TrayState(paused=True),
        TrayState(error="port in use"),
    ]
    zoom = {16: 8, 22: 6, 32: 4}  # each about 130 px on the sheet
    col_w, row_h = 200, sum(size * z + 10 for size, z in zoom.items()) + 10
    sheet = QImage(len(states) * col_w, 2 * row_h, QImage.Format.Format_ARGB32)
    sheet.fill(QColor("#888888"))
    p = QPainter(sheet)
    for row, panel in enumerate(("#f5f5f5", "#2b2b2b")):
        for col, state in enumerate(states):
            x, y = col * col_w + 5, row * row_h + 5
            p.fillRect(QRect(x, y, col_w - 10, row_h - 10), QColor(panel))
            for size, z in zoom.items():
                pm = render(state, size)
                big = pm.scaled(
                    size * z,
                    size * z,
                    Qt.AspectRatioMode.KeepAspectRatio,
                    Qt.TransformationMode.FastTransformation,
                )
                p.drawPixmap(x + 5, y + 5, big)
                p.drawPixmap(x + 150, y + 5, pm)  # and at its real size
                y += size * z + 10
    p.end()
    out = artifacts / "tray_badges.png"
    assert sheet.save(str(out))
    assert out.stat().st_size > 0
