#!/usr/bin/env python3
"""Renders a terminal capture (`tmux capture-pane -e -p`: text with SGR colour codes) as an SVG
image: each cell in a monospace grid, with its colours, bold and reverse video. Standard
library only. Usage: ansi2svg.py COLS ROWS < capture.ans > capture.svg"""
import html
import re
import sys
import unicodedata

CELL_W, CELL_H, PAD = 8.4, 17, 8
BASE16 = ["#1d1f21", "#cc6666", "#b5bd68", "#f0c674", "#81a2be", "#b294bb", "#8abeb7", "#c5c8c6",
          "#666666", "#d54e53", "#b9ca4a", "#e7c547", "#7aa6da", "#c397d8", "#70c0b1", "#eaeaea"]
FG, BG = "#c5c8c6", "#1d1f21"


def xterm256(n):
    if n < 16:
        return BASE16[n]
    if n < 232:
        n -= 16
        steps = [0, 95, 135, 175, 215, 255]
        return "#%02x%02x%02x" % (steps[n // 36], steps[n // 6 % 6], steps[n % 6])
    v = 8 + (n - 232) * 10
    return "#%02x%02x%02x" % (v, v, v)


def sgr(state, params):
    it = iter(params or [0])
    for p in it:
        if p == 0:
            state.update(fg=None, bg=None, bold=False, dim=False, rev=False, strike=False)
        elif p == 1:
            state["bold"] = True
        elif p == 2:
            state["dim"] = True
        elif p == 7:
            state["rev"] = True
        elif p == 9:
            state["strike"] = True
        elif p == 22:
            state.update(bold=False, dim=False)
        elif p == 27:
            state["rev"] = False
        elif p == 29:
            state["strike"] = False
        elif 30 <= p <= 37 or 90 <= p <= 97:
            state["fg"] = BASE16[p - 30 if p < 90 else p - 82]
        elif 40 <= p <= 47 or 100 <= p <= 107:
            state["bg"] = BASE16[p - 40 if p < 100 else p - 92]
        elif p in (38, 48):
            kind = next(it, None)
            if kind == 5:
                colour = xterm256(next(it, 0))
            elif kind == 2:
                colour = "#%02x%02x%02x" % (next(it, 0), next(it, 0), next(it, 0))
            else:
                continue
            state["fg" if p == 38 else "bg"] = colour
        elif p == 39:
            state["fg"] = None
        elif p == 49:
            state["bg"] = None


def width(ch):
    return 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def cells(line):
    """The line's cells: (column, char, state copy)."""
    state = dict(fg=None, bg=None, bold=False, dim=False, rev=False, strike=False)
    col, out = 0, []
    for m in re.finditer(r"\x1b\[([0-9;:]*)m|\x1b\[[0-9;?]*[A-Za-z]|([^\x1b])", line):
        if m.group(2) is not None:
            ch = m.group(2)
            out.append((col, ch, dict(state)))
            col += width(ch)
        elif m.group(1) is not None:
            sgr(state, [int(x) for x in re.split("[;:]", m.group(1)) if x.isdigit()])
    return out


def main():
    cols, rows = int(sys.argv[1]), int(sys.argv[2])
    lines = sys.stdin.read().split("\n")[:rows]
    w, h = cols * CELL_W + 2 * PAD, rows * CELL_H + 2 * PAD
    svg = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d">' % (w, h, w, h),
           '<rect width="100%%" height="100%%" rx="6" fill="%s"/>' % BG,
           '<g font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14" xml:space="preserve">']
    for r, line in enumerate(lines):
        y = PAD + r * CELL_H
        for col, ch, st in cells(line):
            fg, bg = st["fg"] or FG, st["bg"]
            if st["rev"]:
                fg, bg = (st["bg"] or BG), (st["fg"] or FG)
            x = PAD + col * CELL_W
            if bg:
                svg.append('<rect x="%.1f" y="%d" width="%.1f" height="%d" fill="%s"/>'
                           % (x, y, CELL_W * width(ch), CELL_H, bg))
            if ch != " ":
                attrs = ' fill="%s"' % fg
                if st["bold"]:
                    attrs += ' font-weight="bold"'
                if st["dim"]:
                    attrs += ' opacity="0.6"'
                if st["strike"]:
                    attrs += ' text-decoration="line-through"'
                svg.append('<text x="%.1f" y="%d"%s>%s</text>' % (x, y + 13, attrs, html.escape(ch)))
    svg.append("</g></svg>")
    sys.stdout.write("\n".join(svg) + "\n")


main()
