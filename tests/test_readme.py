"""The README's results are a copy of the committed report's first screen; this keeps the copy true."""

from itertools import takewhile
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MARKER = "<!-- results: from reports/report.md"


def _table_and_recommendation(lines):
    start = next(i for i, line in enumerate(lines) if line.startswith("| "))
    table = list(takewhile(lambda line: line.startswith("| "), lines[start:]))
    recommendation = next(line for line in lines if line.startswith("**Recommendation"))
    return table, recommendation.split("**", 2)[2].strip()


def _readme_results():
    lines = (REPO / "README.md").read_text().splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(MARKER))
    end = next(i for i, line in enumerate(lines) if i > start and line.startswith("## "))
    return _table_and_recommendation(lines[start:end])


def _report_first_screen():
    lines = (REPO / "reports" / "report.md").read_text().splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("## "))
    return _table_and_recommendation(lines[:end])


def test_the_readme_results_table_is_the_committed_reports():
    readme, report = _readme_results()[0], _report_first_screen()[0]
    assert readme == report, "README.md's results table differs from reports/report.md's: copy the report's table over"


def test_the_readme_recommendation_is_the_committed_reports():
    readme, report = _readme_results()[1], _report_first_screen()[1]
    assert readme.startswith("(the report's): ")
    assert readme.removeprefix("(the report's): ") == report, (
        "README.md's recommendation differs from reports/report.md's: copy the report's over"
    )
