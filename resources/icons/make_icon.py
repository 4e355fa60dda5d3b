#!/usr/bin/env python3
"""Renders resources/icons/supersam.png (128x128 RGBA) from the same shapes as supersam.svg, with the standard
library only (4x4 supersampling), so the PNG can be rebuilt without an SVG renderer."""
import math
import struct
import sys
import zlib

N, SS = 128, 4


def blend(dst, rgb, a):
    r, g, b, da = dst
    oa = a + da * (1 - a)
    if oa <= 0:
        return (0, 0, 0, 0)
    mix = lambda c, d: (c * a + d * da * (1 - a)) / oa
    return (mix(rgb[0], r), mix(rgb[1], g), mix(rgb[2], b), oa)


def rounded_rect(x, y, x0, y0, x1, y1, r):
    cx, cy = min(max(x, x0 + r), x1 - r), min(max(y, y0 + r), y1 - r)
    return (x - cx) ** 2 + (y - cy) ** 2 <= r * r and x0 <= x <= x1 and y0 <= y <= y1


def blob(x, y):  # a wobbly ellipse standing in for the SVG's bezier blob
    dx, dy = (x - 64) / 36.0, (y - 66) / 30.0
    ang = math.atan2(dy, dx)
    rad = 1 + 0.08 * math.sin(3 * ang) + 0.05 * math.cos(2 * ang)
    return math.hypot(dx, dy) / rad


def sample(x, y):
    px = (0, 0, 0, 0)
    if rounded_rect(x, y, 4, 4, 124, 124, 22):
        px = blend(px, (0x1F, 0x3B, 0x63), 1.0)
    d = blob(x, y)
    if d <= 1.0:
        px = blend(px, (0x3C, 0xCF, 0x6E), 0.55)
    if 0.94 <= d <= 1.06:
        px = blend(px, (0x7D, 0xFF, 0xA8), 1.0)
    for bx, by, h, a in ((20, 94, 14, 0.35), (40, 88, 20, 0.55), (60, 80, 28, 0.75)):
        if bx <= x <= bx + 14 and by <= y <= by + h and y <= 108:
            px = blend(px, (255, 255, 255), a)
    r = math.hypot(x - 66, y - 60)
    if r <= 11:
        px = blend(px, (255, 255, 255), 1.0)
    if r <= 8:
        px = blend(px, (0x2B, 0xD1, 0x4A), 1.0)
    return px


def main(out):
    raw = bytearray()
    for j in range(N):
        raw.append(0)
        for i in range(N):
            acc = [0.0, 0.0, 0.0, 0.0]
            for sj in range(SS):
                for si in range(SS):
                    r, g, b, a = sample(i + (si + 0.5) / SS, j + (sj + 0.5) / SS)
                    acc[0] += r * a
                    acc[1] += g * a
                    acc[2] += b * a
                    acc[3] += a
            a = acc[3] / (SS * SS)
            rgb = [int(round(c / acc[3])) if acc[3] > 0 else 0 for c in acc[:3]]
            raw += bytes(rgb + [int(round(a * 255))])
    chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", N, N, 8, 6, 0, 0, 0))
    png += chunk(b"IDAT", zlib.compress(bytes(raw), 9)) + chunk(b"IEND", b"")
    with open(out, "wb") as f:
        f.write(png)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "supersam.png")
