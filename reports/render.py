"""HTML, PDF and markdown from one set of facts (reports.model.ReportData).

The HTML comes from one Jinja2 template (reports/templates/report.html.j2) with the plots
inlined as SVG data URIs (matplotlib, vector: sharp at any zoom and in print). The PDF is that same
HTML laid out by WeasyPrint (no browser; it needs pango, as Debian's libpango provides).
"""

from __future__ import annotations

import base64
import io
from functools import cache
from pathlib import Path

import jinja2
import numpy as np

from reports.model import MatchLine, ReportData

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
    environment.filters["contributions"] = contributions_text
    return environment


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "not finished"
    if seconds < 1:
        return f"{seconds * 1000:.1f} ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)} min {rest:.1f} s" if minutes else f"{rest:.2f} s"


def contributions_text(match: MatchLine) -> str:
    """A match's score as the sum it is, one addend a line: base and name features, the
    name score, then each qualifier (with its verdict), then the total."""
    lines = [f"{name} {value:+.4f}" for name, value in match.name_parts]
    lines.append(f"= name score {_score(match.name_score)}")
    lines += [f"{name} ({verdict}) {value:+.4f}" for name, verdict, value in match.qualifiers]
    lines.append(f"= total {_score(match.total)}")
    return "\n".join(lines)


def _score(value: float | None) -> str:
    return "?" if value is None else f"{value:.4f}"


def score_histogram(scores: list[float]) -> list[int]:
    """Entities per SCORE_BINS bin of their best confidence score."""
    counts, _ = np.histogram(np.asarray(scores, dtype=float), bins=SCORE_BINS)
    return counts.tolist()


def _histogram_svg(scores: list[float], threshold: float) -> str:
    """The histogram as SVG, base64 for a data: URI. An <img> rather than inline <svg>: the
    PDF renderer then draws it as one picture instead of styling its every path as HTML."""
    from matplotlib.figure import Figure

    counts = score_histogram(scores)
    figure = Figure(figsize=(7.0, 2.3))
    axes = figure.add_subplot()
    axes.bar(SCORE_BINS[:-1], counts, width=0.05, align="edge", color="#2f5d8a", edgecolor="white")
    axes.axvline(
        threshold, color="#b33", linestyle="--", linewidth=1, label=f"threshold {threshold:g}"
    )
    axes.legend(frameon=False, fontsize=8, loc="upper left")
    axes.set_xlim(0, 1)
    axes.set_xlabel("best confidence score of the entity")
    axes.set_ylabel("entities")
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="svg", metadata={"Date": None})
    return base64.b64encode(buffer.getvalue()).decode()


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
