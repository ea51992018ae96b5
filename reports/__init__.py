"""Evidence reports: a job's or a single check's screening, as HTML and PDF from one template
(and a markdown summary for the job's Prefect run).

``reports.model`` gathers the facts from the job store, the check store and the snapshot;
``reports.render`` turns them into HTML (Jinja2, plots by matplotlib), PDF (WeasyPrint, from
that same HTML) and markdown. Nothing here screens or decides: it reports what was stored.
"""

from reports.model import ReportData, check_report_data, job_report_data
from reports.render import render_html, render_markdown, render_pdf

__all__ = [
    "ReportData",
    "check_report_data",
    "job_report_data",
    "render_html",
    "render_markdown",
    "render_pdf",
]
