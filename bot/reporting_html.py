"""The HTML report: one self-contained file with inline SVG charts, no external requests.

Charts are drawn here as SVG strings (no JavaScript, no CDN), then the Jinja2 template
``responses/templates/reports/report.html.j2`` lays out the tables and charts. The
template is loaded by its own autoescaping environment: report text (agent names,
customer comments) must never become markup.
"""

from __future__ import annotations

from html import escape
from typing import TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup

from bot.reporting_view import LEGEND, duration, sections, title
from storage.report_model import Durations
from storage.reports import Report

WIDTH = 640


def _environment() -> Environment:
    return Environment(
        loader=PackageLoader("responses", "templates"),
        autoescape=select_autoescape(["j2", "html"], default=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def csat_trend_svg(report: Report) -> str:
    """CSAT per bucket with its Wilson 95% band; buckets under 10 answers are left out."""
    points = report.trend
    height, left, right, top, bottom = 220, 44, 12, 12, 40
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    step = plot_w / max(1, len(points) - 1) if len(points) > 1 else 0
    x = [left + (i * step if len(points) > 1 else plot_w / 2) for i in range(len(points))]

    def y(value: float) -> float:
        return top + plot_h * (1 - value)

    parts = [
        f'<svg id="chart-csat-trend" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" '
        f'aria-label="CSAT by {report.trend_unit} with 95% interval">'
    ]
    for tick in (0, 0.25, 0.5, 0.75, 1.0):
        parts.append(
            f'<line x1="{left}" x2="{WIDTH - right}" y1="{y(tick):.1f}" '
            f'y2="{y(tick):.1f}" class="grid"/><text x="{left - 6}" '
            f'y="{y(tick) + 4:.1f}" text-anchor="end" class="axis">{tick:.0%}</text>'
        )
    shown = [(i, p.counts.csat) for i, p in enumerate(points) if not p.counts.csat.counts_only]
    if shown:
        upper = " ".join(f"{x[i]:.1f},{y(c.interval[1]):.1f}" for i, c in shown)
        lower = " ".join(f"{x[i]:.1f},{y(c.interval[0]):.1f}" for i, c in reversed(shown))
        parts.append(
            f'<polygon points="{upper} {lower}" class="band"><title>95% interval</title></polygon>'
        )
        line = " ".join(f"{x[i]:.1f},{y(c.value or 0):.1f}" for i, c in shown)
        parts.append(f'<polyline points="{line}" class="line"/>')
        for i, c in shown:
            parts.append(
                f'<circle cx="{x[i]:.1f}" cy="{y(c.value or 0):.1f}" r="4" '
                f'class="{"dot low" if c.low_sample else "dot"}"><title>'
                f"{escape(points[i].label)}: {escape(c.describe())}</title></circle>"
            )
    else:
        parts.append(
            f'<text x="{WIDTH / 2}" y="{height / 2}" text-anchor="middle" '
            f'class="axis">Fewer than 10 answers per {report.trend_unit}: no trend '
            f"drawn</text>"
        )
    for i, point in enumerate(points):
        parts.append(
            f'<text x="{x[i]:.1f}" y="{height - bottom + 16}" text-anchor="middle" '
            f'class="axis">{point.start.strftime("%d %b")}</text>'
            f'<text x="{x[i]:.1f}" y="{height - bottom + 30}" text-anchor="middle" '
            f'class="axis small">n={point.counts.answered}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _bars(chart_id: str, label: str, items: list[tuple[str, float, str]]) -> str:
    """Horizontal bars: (name, value, text shown at the end of the bar)."""
    row, left, right = 26, 170, 120
    height = max(1, len(items)) * row + 10
    top_value = max((value for _, value, _ in items), default=0) or 1
    parts = [
        f'<svg id="{chart_id}" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="100%" aria-label="{escape(label)}">'
    ]
    if not items:
        parts.append('<text x="10" y="20" class="axis">No data</text>')
    for index, (name, value, text) in enumerate(items):
        y = 5 + index * row
        width = (WIDTH - left - right) * value / top_value
        parts.append(
            f'<text x="{left - 8}" y="{y + 16}" text-anchor="end" class="axis">'
            f'{escape(name)}</text><rect x="{left}" y="{y + 3}" width="{width:.1f}" '
            f'height="{row - 8}" class="bar"><title>{escape(name)}: {escape(text)}'
            f'</title></rect><text x="{left + width + 6:.1f}" y="{y + 16}" '
            f'class="value">{escape(text)}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def reasons_svg(report: Report) -> str:
    """Handoffs by reason."""
    items = [(reason, float(count), str(count)) for reason, count in report.current.reasons.items()]
    return _bars("chart-reasons", "Handoffs by reason", items)


def times_svg(report: Report) -> str:
    """Median and p90 of human first response and time to resolution, now vs before."""
    items: list[tuple[str, float, str]] = []
    pairs: list[tuple[str, Durations]] = [
        ("First response", report.current.first_response),
        ("First response (prev.)", report.previous.first_response),
        ("Resolution", report.current.resolution_time),
        ("Resolution (prev.)", report.previous.resolution_time),
    ]
    for name, value in pairs:
        if value.n:
            items.append((f"{name} median", value.median or 0.0, duration(value.median)))
            items.append((f"{name} p90", value.p90 or 0.0, duration(value.p90)))
    return _bars("chart-times", "Response and resolution times", items)


def render_html(report: Report, out: TextIO) -> None:
    """Write the self-contained HTML file."""
    template = _environment().get_template("reports/report.html.j2")
    out.write(
        template.render(
            title=title(report),
            legend=LEGEND,
            sections=sections(report),
            generated=report.generated_at.strftime("%Y-%m-%d %H:%M UTC"),
            charts={
                "trend": Markup(csat_trend_svg(report)),
                "reasons": Markup(reasons_svg(report)),
                "times": Markup(times_svg(report)),
            },
            trend_unit=report.trend_unit,
        )
    )
