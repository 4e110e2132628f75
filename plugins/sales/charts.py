"""Small charts as inline SVG rendered on the server (no scripts, no CDN): a funnel and a bar chart."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from markupsafe import Markup, escape

COLORS = ["#2f6fde", "#3f86e8", "#56a0ef", "#74b6f3", "#2e9e5b", "#c0504d", "#8064a2", "#f79646"]


def funnel_svg(rows: Sequence[tuple[str, int, Decimal]], width: int = 560, bar: int = 34) -> Markup:
    """Centred bars, widest for the largest count; label: stage, count and amount."""
    if not rows:
        return Markup("")
    top = max((n for _, n, _ in rows), default=0) or 1
    height = len(rows) * (bar + 6)
    parts = [f'<svg class="chart funnel" role="img" aria-label="销售漏斗" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, n, amount) in enumerate(rows):
        w = max(int((width - 20) * n / top), 2)
        x, y = (width - w) // 2, i * (bar + 6)
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{bar}" rx="3" fill="{COLORS[i % len(COLORS)]}"/>')
        text = escape(f"{label}  {n} 个  ¥{amount:,}")
        parts.append(f'<text x="{width // 2}" y="{y + bar // 2 + 5}" text-anchor="middle" font-size="13" '
                     f'fill="#111">{text}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def bars_svg(rows: Sequence[tuple[str, int]], width: int = 560, height: int = 200, title: str = "") -> Markup:
    """Vertical bars with the value above and the label below."""
    if not rows:
        return Markup("")
    top = max((n for _, n in rows), default=0) or 1
    slot = max(width // max(len(rows), 1), 8)
    chart_h = height - 34
    parts = [f'<svg class="chart bars" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" xmlns="http://www.w3.org/2000/svg">']
    for i, (label, n) in enumerate(rows):
        h = int(chart_h * n / top)
        x, y = i * slot + 4, chart_h - h + 14
        parts.append(f'<rect x="{x}" y="{y}" width="{max(slot - 8, 2)}" height="{h}" fill="#3f86e8"/>')
        parts.append(f'<text x="{x + (slot - 8) // 2}" y="{y - 3}" text-anchor="middle" font-size="11">{n}</text>')
        parts.append(f'<text x="{x + (slot - 8) // 2}" y="{height - 4}" text-anchor="middle" font-size="10">'
                     f'{escape(label)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))
