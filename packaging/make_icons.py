"""Render the application icon from ``resources/holmtray.svg`` for the installers and bundles.

Nothing binary is committed: every PNG, the Windows ``.ico`` and the macOS ``.icns`` are
rendered here at build or install time with Qt's SVG renderer (offscreen, no display needed).

    python packaging/make_icons.py OUT [--ico] [--icns]

writes

- ``OUT/hicolor/NxN/apps/APP_ID.png`` for every size in :data:`SIZES`, and
  ``OUT/hicolor/scalable/apps/APP_ID.svg`` (the freedesktop icon theme layout);
- with ``--ico``: ``OUT/holmtray.ico`` (16 to 256 px, PNG-compressed entries, Windows Vista+);
- with ``--icns``: ``OUT/holmtray.icns`` (16 to 1024 px, PNG entries, macOS 10.7+).

Both containers are written here directly (their formats are a header and a table of PNGs),
so neither Pillow nor ``iconutil`` is needed and a Linux machine can build them too.
Needs PySide6 (the application's own dependency).
"""

from __future__ import annotations

import argparse
import shutil
import struct
import sys
from pathlib import Path

APP_ID = "io.github.holmtray.holmtray"
ROOT = Path(__file__).resolve().parents[1]
SVG = ROOT / "resources" / "holmtray.svg"

# The hicolor sizes desktops look for (the tray uses 16-64, launchers and stores 128-512).
SIZES = (16, 22, 24, 32, 48, 64, 128, 256, 512)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size (the @2x types reuse the larger image).
ICNS_TYPES = (
    (b"icp4", 16),
    (b"icp5", 32),
    (b"ic11", 32),  # 16@2x
    (b"icp6", 64),
    (b"ic12", 64),  # 32@2x
    (b"ic07", 128),
    (b"ic08", 256),
    (b"ic13", 256),  # 128@2x
    (b"ic09", 512),
    (b"ic14", 512),  # 256@2x
    (b"ic10", 1024),  # 512@2x
)


class IconRenderer:
    """Renders the SVG to PNG bytes at any size (one offscreen QGuiApplication per process)."""

    def __init__(self, svg: Path = SVG) -> None:
        from PySide6.QtGui import QGuiApplication  # noqa: PLC0415 - only when rendering
        from PySide6.QtSvg import QSvgRenderer  # noqa: PLC0415

        self._app = QGuiApplication.instance() or QGuiApplication(
            ["make_icons", "-platform", "offscreen"]
        )
        self._renderer = QSvgRenderer(str(svg))
        if not self._renderer.isValid():
            raise SystemExit(f"make_icons: cannot read the SVG {svg}")
        self._cache: dict[int, bytes] = {}

    def png(self, size: int) -> bytes:
        if size not in self._cache:
            self._cache[size] = self._render(size)
        return self._cache[size]

    def _render(self, size: int) -> bytes:
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QRectF, Qt  # noqa: PLC0415
        from PySide6.QtGui import QImage, QPainter  # noqa: PLC0415

        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        self._renderer.render(painter, QRectF(0, 0, size, size))
        painter.end()
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        if not image.save(buffer, "PNG"):
            raise SystemExit(f"make_icons: cannot encode a {size} px PNG")
        buffer.close()
        return bytes(data.data())


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file holding ``pngs`` (size -> PNG data) as PNG-compressed entries."""
    sizes = sorted(pngs)
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = [], []
    for size in sizes:
        blob = pngs[size]
        dim = 0 if size >= 256 else size  # 0 means 256 in the directory entry
        entries.append(struct.pack("<BBBBHHII", dim, dim, 0, 0, 1, 32, len(blob), offset))
        blobs.append(blob)
        offset += len(blob)
    return header + b"".join(entries) + b"".join(blobs)


def icns_bytes(png: dict[int, bytes]) -> bytes:
    """An ICNS file with the PNG element types in :data:`ICNS_TYPES`."""
    body = b"".join(
        kind + struct.pack(">I", 8 + len(png[size])) + png[size] for kind, size in ICNS_TYPES
    )
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def write_hicolor(out: Path, renderer: IconRenderer, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    """The icon theme tree under ``out/hicolor``; the files written."""
    written = []
    for size in sizes:
        path = out / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(renderer.png(size))
        written.append(path)
    scalable = out / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg"
    scalable.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(SVG, scalable)
    written.append(scalable)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="output folder (created if missing)")
    parser.add_argument("--ico", action="store_true", help="also write holmtray.ico (Windows)")
    parser.add_argument("--icns", action="store_true", help="also write holmtray.icns (macOS)")
    args = parser.parse_args(argv)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    renderer = IconRenderer()
    written = write_hicolor(out, renderer)
    if args.ico:
        ico = out / "holmtray.ico"
        ico.write_bytes(ico_bytes({s: renderer.png(s) for s in ICO_SIZES}))
        written.append(ico)
    if args.icns:
        icns = out / "holmtray.icns"
        icns.write_bytes(icns_bytes({s: renderer.png(s) for _kind, s in ICNS_TYPES}))
        written.append(icns)
    for path in written:
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
