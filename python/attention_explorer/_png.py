"""A small heatmap as a PNG, with zlib and struct: the picture in the HTML fallback."""

import struct
import zlib

# Matplotlib's viridis at nine evenly spaced points; colours between them are interpolated.
_VIRIDIS = [(68, 1, 84), (71, 45, 123), (59, 82, 139), (44, 114, 142), (33, 144, 140), (39, 173, 129),
            (93, 200, 99), (170, 220, 50), (253, 231, 37)]


def _viridis_table():
    table = []
    for step in range(256):
        position = step / 255 * (len(_VIRIDIS) - 1)
        low = min(int(position), len(_VIRIDIS) - 2)
        fraction = position - low
        table.append(bytes(round(a + (b - a) * fraction) for a, b in zip(_VIRIDIS[low], _VIRIDIS[low + 1])))
    return table


_COLOURS = _viridis_table()


def viridis(value):
    """The RGB bytes of `value` in 0 … 1 (values outside are clamped)."""
    return _COLOURS[max(0, min(255, round(value * 255)))]


def heatmap(grid, scale):
    """PNG bytes of `grid` (rows of numbers, 0 … 1) with each cell `scale` × `scale` pixels."""
    height, width = len(grid) * scale, len(grid[0]) * scale
    lines = []
    for row in grid:
        line = b"\x00" + b"".join(viridis(v) * scale for v in row)  # filter type 0: the bytes as they are
        lines.extend([line] * scale)
    return png(width, height, b"".join(lines))


def png(width, height, scanlines):
    """A PNG file of 8-bit RGB `scanlines` (each starting with its filter byte)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8 bits, RGB, deflate, no filter, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(scanlines, 9))
            + chunk(b"IEND", b""))
