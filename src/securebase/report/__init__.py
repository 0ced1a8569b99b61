"""The report: CONSORT flow, tables and figures as self-contained HTML and PDF, open or closed."""

from securebase.report.builder import ReportKind, build_report
from securebase.report.consort import ConsortCounts, consort_counts

__all__ = ["ConsortCounts", "ReportKind", "build_report", "consort_counts"]
