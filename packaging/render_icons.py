"""Render the launchers' PNG icons from their SVGs (Qt's SVG renderer, offscreen).

    .venv/bin/python packaging/render_icons.py           write the PNGs
    .venv/bin/python packaging/render_icons.py --check   exit 1 if a PNG is missing or
                                                         no longer looks like its SVG

The SVGs under desktop/launchers/icons/hicolor/scalable/apps/ are the source; the PNGs
beside them (hicolor/<N>x<N>/apps/) are committed, so installing the launchers needs
no Qt.  Run this after changing an SVG, and commit what it writes.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

ICONS = Path(__file__).resolve().parent.parent / "desktop" / "launchers" / "icons" / "hicolor"
#: the usual sizes of the hicolor theme (the Icon Theme Specification's examples and
#: what desktops ask for: menus 16-32, launchers and docks 48-128, software centres 256+)
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)
#: how far (of 255, on any channel of any pixel) a committed PNG may be from a fresh
#: rendering: another Qt version antialiases edges a little differently
TOLERANCE = 24


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--check", action="store_true", help="compare instead of writing")
    check = ap.parse_args(argv).check
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QRectF, Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])  # noqa: F841 (QPainter needs it)
    svgs = sorted((ICONS / "scalable" / "apps").glob("*.svg"))
    if not svgs:
        print(f"render_icons: no SVG in {ICONS / 'scalable' / 'apps'}", file=sys.stderr)
        return 1
    stale = []
    for svg in svgs:
        renderer = QSvgRenderer(str(svg))
        if not renderer.isValid():
            print(f"render_icons: Qt cannot read {svg}", file=sys.stderr)
            return 1
        for size in SIZES:
            image = QImage(size, size, QImage.Format.Format_ARGB32)
            image.fill(Qt.GlobalColor.transparent)
            painter = QPainter(image)
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            renderer.render(painter, QRectF(0, 0, size, size))
            painter.end()
            png = ICONS / f"{size}x{size}" / "apps" / f"{svg.stem}.png"
            if check:
                if not _looks_like(png, image):
                    stale.append(png)
                continue
            png.parent.mkdir(parents=True, exist_ok=True)
            if not image.save(str(png), "PNG"):
                print(f"render_icons: cannot write {png}", file=sys.stderr)
                return 1
    if stale:
        print("render_icons: these PNGs are missing or differ from their SVG (run packaging/render_icons.py):")
        for png in stale:
            print(f"  {png}")
        return 1
    print(f"render_icons: {len(svgs)} icons x {len(SIZES)} sizes {'checked' if check else 'written'}")
    return 0


def _looks_like(png: Path, fresh) -> bool:
    from PySide6.QtGui import QImage

    committed = QImage(str(png))
    if committed.isNull() or committed.size() != fresh.size():
        return False
    a = committed.convertToFormat(QImage.Format.Format_RGBA8888)
    b = fresh.convertToFormat(QImage.Format.Format_RGBA8888)
    pa, pb = bytes(a.constBits()), bytes(b.constBits())  # type: ignore[call-overload]
    return max(abs(x - y) for x, y in zip(pa, pb, strict=True)) <= TOLERANCE


if __name__ == "__main__":
    sys.exit(main())
