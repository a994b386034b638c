"""Just enough of PDF to check a printed report: its pages and the text on each.

Chromium's PDFs (Skia) are simple: objects not compressed together, each page's
content one Flate stream, text drawn with ``Tj``/``TJ`` in Type0 fonts whose
``ToUnicode`` map gives the characters.  No PDF library is installed here, and the
report's tests need no more than this.
"""

from __future__ import annotations

import re
import unicodedata
import zlib
from dataclasses import dataclass

_OBJ = re.compile(rb"(\d+) 0 obj\s*(<<.*?>>)\s*(stream\r?\n|endobj)", re.S)


@dataclass
class Pdf:
    objects: dict[int, bytes]  # number -> its dictionary
    streams: dict[int, bytes]  # number -> its stream, inflated

    def pages(self) -> list[int]:
        return [n for n, d in self.objects.items() if re.search(rb"/Type /Page\b(?!s)", d)]

    def page_count(self) -> int:
        counts = [int(m) for d in self.objects.values() for m in re.findall(rb"/Type /Pages.*?/Count (\d+)", d, re.S)]
        return max(counts, default=0)

    def text_of(self, page: int) -> str:
        d = self.objects[page]
        fonts = dict(re.findall(rb"/(F\d+) (\d+) 0 R", d.split(b"/Font", 1)[1] if b"/Font" in d else b""))
        maps = {name: self._cmap(int(num)) for name, num in fonts.items()}
        content = self.streams[int(re.search(rb"/Contents (\d+) 0 R", d).group(1))]
        out, cmap = [], {}
        for m in re.finditer(rb"/(F\d+) [\d.]+ Tf|<([0-9A-Fa-f]+)> Tj|\[(.*?)\] TJ|(ET)", content, re.S):
            if m.group(1):
                cmap = maps.get(m.group(1), {})
            elif m.group(4):
                out.append("\n")
            else:
                runs = [m.group(2)] if m.group(2) else re.findall(rb"<([0-9A-Fa-f]+)>", m.group(3))
                for hexes in runs:
                    out.append("".join(cmap.get(hexes[i : i + 4].upper(), "?") for i in range(0, len(hexes), 4)))
        # NFKC: the ligatures a font draws (\ufb01 for "fi") read as their letters
        return unicodedata.normalize("NFKC", "".join(out))

    def text(self) -> str:
        return "\n".join(self.text_of(p) for p in self.pages())

    def _cmap(self, font: int) -> dict[bytes, str]:
        to_unicode = re.search(rb"/ToUnicode (\d+) 0 R", self.objects[font])
        if not to_unicode:
            return {}
        cmap, text = {}, self.streams[int(to_unicode.group(1))]
        for block in re.findall(rb"beginbfchar(.*?)endbfchar", text, re.S):
            for src, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                cmap[src.upper()] = bytes.fromhex(dst.decode()).decode("utf-16-be")
        for block in re.findall(rb"beginbfrange(.*?)endbfrange", text, re.S):
            for lo, hi, dst in re.findall(rb"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", block):
                start = int(dst, 16)
                for i, code in enumerate(range(int(lo, 16), int(hi, 16) + 1)):
                    cmap[f"{code:04X}".encode()] = chr(start + i)
        return cmap


def read_pdf(data: bytes) -> Pdf:
    if not data.startswith(b"%PDF-"):
        raise ValueError("not a PDF")
    objects, streams = {}, {}
    for m in _OBJ.finditer(data):
        number, head = int(m.group(1)), m.group(2)
        objects[number] = head
        if m.group(3).startswith(b"stream"):
            length = int(re.search(rb"/Length (\d+)", head).group(1))
            raw = data[m.end() : m.end() + length]
            streams[number] = zlib.decompress(raw) if b"/FlateDecode" in head else raw
    return Pdf(objects, streams)
