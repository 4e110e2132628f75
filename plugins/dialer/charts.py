"""外呼统计 charts as inline SVG rendered on the server (no scripts: the CSP forbids inline ones).

`time_chart`: dials / answered / effective over days, weeks or months (lines, axes, legend).
`bar_chart`: one horizontal bar per person, department, campaign or SIM — dials, with answered and effective
overlaid, and the answer rate at the end. Both carry a `<title>`/`<desc>` and an aria-label, and render
something sensible for no rows, one row and hundreds of rows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from markupsafe import Markup, escape

from core.web.i18n import gettext as _
from plugins.dialer.schemas import StatRow

SERIES = (("dials", "#93c5fd"), ("answered", "#3b82f6"), ("effective", "#1e3a8a"))
BAR_LIMIT = 30
FONT = 'font-family="sans-serif"'


def _names() -> dict[str, str]:
    return {"dials": _("拨打次数"), "answered": _("接通"), "effective": _("有效通话")}


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 … a round maximum ≥ top in `count` equal round steps (1, 2, 2.5 or 5 × 10^k)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if step < 1:
        step = 1.0
    n = math.ceil(top / step)
    return [round(k * step, 6) for k in range(n + 1)]


def _fmt(v: float) -> str:
    return f"{int(v)}" if float(v).is_integer() else f"{v:g}"


def _open(ident: str, cls: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [f'<svg class="chart {cls}" id="{ident}" role="img" aria-labelledby="{ident}-t {ident}-d" '
            f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" style="max-width:100%;height:auto" '
            f'xmlns="http://www.w3.org/2000/svg">',
            f'<title id="{ident}-t">{escape(title)}</title><desc id="{ident}-d">{escape(desc)}</desc>',
            f'<text x="{width // 2}" y="18" text-anchor="middle" font-size="14" font-weight="bold" {FONT}>'
            f'{escape(title)}</text>']


def _legend(x: int, y: int) -> list[str]:
    out = ['<g class="legend">']
    for name, color in SERIES:
        label = _names()[name]
        out.append(f'<rect x="{x}" y="{y - 9}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14}" y="{y}" font-size="11" {FONT}>{escape(label)}</text>')
        x += 24 + sum(12 if ord(c) > 127 else 7 for c in label)
    out.append("</g>")
    return out


def empty_chart(title: str, ident: str = "chart", width: int = 720, height: int = 80) -> Markup:
    parts = _open(ident, "empty", width, height, title, _("没有数据"))
    parts.append(f'<text x="{width // 2}" y="{height // 2 + 14}" text-anchor="middle" font-size="13" '
                 f'fill="#666" {FONT}>{escape(_("所选范围内没有拨打记录"))}</text></svg>')
    return Markup("".join(parts))


def time_chart(rows: Sequence[StatRow], title: str, x_label: str, ident: str = "chart",
               width: int = 720, height: int = 280) -> Markup:
    """Lines of dials, answered and effective per period (rows sorted by period)."""
    if not rows:
        return empty_chart(title, ident, width)
    left, right, top_m, bottom = 56, 16, 44, 56
    pw, ph = width - left - right, height - top_m - bottom
    ticks = nice_ticks(max(r.dials for r in rows))
    y_max = ticks[-1] or 1
    n = len(rows)

    def x_at(k: int) -> float:
        return left + (pw / 2 if n == 1 else pw * k / (n - 1))

    def y_at(v: float) -> float:
        return top_m + ph - ph * v / y_max

    desc = _("{n} 个周期，共拨打 {d} 次，接通 {a} 次，有效通话 {e} 次").format(
        n=n, d=sum(r.dials for r in rows), a=sum(r.answered for r in rows), e=sum(r.effective for r in rows))
    parts = _open(ident, "time", width, height, title, desc)
    parts += _legend(left, 36)
    for t in ticks:
        y = y_at(t)
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{left + pw}" y2="{y:.1f}" stroke="#e5e7eb"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="10" {FONT}>{_fmt(t)}</text>')
    parts.append(f'<line x1="{left}" y1="{top_m + ph}" x2="{left + pw}" y2="{top_m + ph}" stroke="#6b7280"/>'
                 f'<line x1="{left}" y1="{top_m}" x2="{left}" y2="{top_m + ph}" stroke="#6b7280"/>')
    every = max(1, math.ceil(n / 10))
    for k, r in enumerate(rows):
        if k % every == 0:
            x = x_at(k)
            parts.append(f'<line x1="{x:.1f}" y1="{top_m + ph}" x2="{x:.1f}" y2="{top_m + ph + 4}" stroke="#6b7280"/>'
                         f'<text x="{x:.1f}" y="{top_m + ph + 16}" text-anchor="middle" font-size="10" {FONT}>'
                         f'{escape(r.label)}</text>')
    for name, color in SERIES:
        points = [(x_at(k), y_at(getattr(r, name))) for k, r in enumerate(rows)]
        label = _names()[name]
        if n > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            parts.append(f'<polyline class="series-{name}" fill="none" stroke="{color}" stroke-width="2" '
                         f'points="{path}"/>')
        if n <= 62:
            for (x, y), r in zip(points, rows, strict=True):
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{color}"><title>'
                             f'{escape(r.label)} {escape(label)} {getattr(r, name)}</title></circle>')
    parts.append(f'<text x="{left + pw // 2}" y="{height - 8}" text-anchor="middle" font-size="11" {FONT}>'
                 f'{escape(x_label)}</text>'
                 f'<text x="14" y="{top_m + ph // 2}" text-anchor="middle" font-size="11" {FONT} '
                 f'transform="rotate(-90 14 {top_m + ph // 2})">{escape(_("次数"))}</text></svg>')
    return Markup("".join(parts))


def bar_chart(rows: Sequence[StatRow], title: str, ident: str = "chart", width: int = 720,
              limit: int = BAR_LIMIT) -> Markup:
    """Horizontal bars, most dials first (the first `limit` rows), answered and effective inside the dials bar."""
    if not rows:
        return empty_chart(title, ident, width)
    shown = sorted(rows, key=lambda r: (-r.dials, r.label))[:limit]
    label_w, rate_w, bar_h, gap = 150, 92, 16, 8
    top_m = 62 if len(rows) > len(shown) else 48
    pw = width - label_w - rate_w - 16
    ph = len(shown) * (bar_h + gap)
    height = top_m + ph + 40
    ticks = nice_ticks(max(r.dials for r in shown))
    x_max = ticks[-1] or 1

    def w_of(v: float) -> float:
        return pw * v / x_max

    desc = _("{n} 项，共拨打 {d} 次，接通 {a} 次，有效通话 {e} 次").format(
        n=len(rows), d=sum(r.dials for r in rows), a=sum(r.answered for r in rows),
        e=sum(r.effective for r in rows))
    parts = _open(ident, "bars", width, height, title, desc)
    parts += _legend(label_w, 36)
    if len(rows) > len(shown):
        note = _("仅显示拨打最多的 {k} 项（共 {n} 项），完整数据见下表").format(k=len(shown), n=len(rows))
        parts.append(f'<text x="{label_w}" y="54" font-size="11" fill="#666" {FONT}>{escape(note)}</text>')
    parts.append(f'<text x="{width - 8}" y="{top_m - 4}" text-anchor="end" font-size="10" {FONT}>'
                 f'{escape(_("接通率"))}</text>')
    for t in ticks:
        x = label_w + w_of(t)
        parts.append(f'<line x1="{x:.1f}" y1="{top_m}" x2="{x:.1f}" y2="{top_m + ph}" stroke="#e5e7eb"/>'
                     f'<text x="{x:.1f}" y="{top_m + ph + 14}" text-anchor="middle" font-size="10" {FONT}>'
                     f'{_fmt(t)}</text>')
    names = _names()
    for k, r in enumerate(shown):
        y = top_m + k * (bar_h + gap) + gap // 2
        name = str(r.label)
        short = name if len(name) <= 12 else name[:11] + "…"
        parts.append(f'<g class="row"><title>{escape(name)}: {escape(names["dials"])} {r.dials}, '
                     f'{escape(names["answered"])} {r.answered}, {escape(names["effective"])} {r.effective}, '
                     f'{escape(_("接通率"))} {100 * r.answer_rate:.1f}%</title>'
                     f'<text x="{label_w - 6}" y="{y + 12}" text-anchor="end" font-size="11" {FONT}>'
                     f'{escape(short)}</text>')
        for series, color in SERIES:
            w = w_of(getattr(r, series))
            if w > 0:
                parts.append(f'<rect class="series-{series}" x="{label_w}" y="{y}" width="{max(w, 1):.1f}" '
                             f'height="{bar_h}" fill="{color}"/>')
        parts.append(f'<text x="{label_w + w_of(r.dials) + 4:.1f}" y="{y + 12}" font-size="10" {FONT}>{r.dials}</text>'
                     f'<text x="{width - 8}" y="{y + 12}" text-anchor="end" font-size="11" {FONT}>'
                     f'{100 * r.answer_rate:.1f}%</text></g>')
    parts.append(f'<line x1="{label_w}" y1="{top_m}" x2="{label_w}" y2="{top_m + ph}" stroke="#6b7280"/>'
                 f'<text x="{label_w + pw // 2}" y="{height - 6}" text-anchor="middle" font-size="11" {FONT}>'
                 f'{escape(_("拨打次数"))}</text></svg>')
    return Markup("".join(parts))
