"""HTML, PDF and markdown from one set of facts (reports.model.ReportData).

The HTML comes from one Jinja2 template (reports/templates/report.html.j2) with the plots
inlined as SVG (matplotlib, vector: sharp at any zoom and in print). The PDF is that same
HTML laid out by WeasyPrint (no browser; it needs pango, as Debian's libpango provides).
"""

from __future__ import annotations

import io
from functools import cache
from pathlib import Path

import jinja2
import numpy as np

from reports.model import ReportData

_TEMPLATES = Path(__file__).parent / "templates"
# The histogram's bins of best confidence scores: 0.00-0.05, ..., 0.95-1.00.
SCORE_BINS = np.linspace(0.0, 1.0, 21)


@cache
def _environment() -> jinja2.Environment:
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(_TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "j2"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["score"] = lambda value: "" if value is None else f"{value:.4f}"
    environment.filters["signed"] = lambda value: f"{value:+.4f}"
    environment.filters["count"] = lambda value: f"{value:,}"
    environment.filters["duration"] = _duration
    return environment


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not finished"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.1f} s" if minutes else f"{rest:.2f} s"


def score_histogram(scores: list[float]) -> list[int]:
    """Entities per SCORE_BINS bin of their best confidence score."""
    counts, _ = np.histogram(np.asarray(scores, dtype=float), bins=SCORE_BINS)
    return counts.tolist()


def _histogram_svg(scores: list[float], threshold: float) -> str:
    """The histogram as an inline SVG (matplotlib's Agg-free SVG backend)."""
    from matplotlib.figure import Figure

    counts = score_histogram(scores)
    figure = Figure(figsize=(7.0, 2.6))
    axes = figure.add_subplot()
    axes.bar(SCORE_BINS[:-1], counts, width=0.05, align="edge", color="#2f5d8a", edgecolor="white")
    axes.axvline(threshold, color="#b33", linestyle="--", linewidth=1)
    axes.text(
        threshold,
        max(counts or [0]) or 1,
        f" threshold {threshold:g}",
        color="#b33",
        fontsize=8,
        va="top",
    )
    axes.set_xlim(0, 1)
    axes.set_xlabel("best confidence score of the entity")
    axes.set_ylabel("entities")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg") :]


def render_html(data: ReportData) -> str:
    """The report as one self-contained HTML page (plots inline, no external resource)."""
    template = _environment().get_template("report.html.j2")
    return template.render(
        r=data,
        histogram_svg=_histogram_svg(data.best_scores, data.threshold) if data.best_scores else "",
        histogram=list(
            zip(SCORE_BINS[:-1].round(2), score_histogram(data.best_scores), strict=True)
        ),
    )


def render_pdf(data: ReportData, html: str | None = None) -> bytes:
    """The same report as PDF, laid out from the same HTML."""
    import weasyprint

    return weasyprint.HTML(string=html or render_html(data)).write_pdf()


def render_markdown(data: ReportData, top: int = 10) -> str:
    """The summary as markdown (the job's Prefect artifact): no per-match contributions."""
    template = _environment().get_template("summary.md.j2")
    return template.render(r=data, top=data.matches[:top])
