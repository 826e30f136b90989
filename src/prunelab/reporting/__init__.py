"""The report: figures and tables from the metrics files, rendered from one Markdown template."""
