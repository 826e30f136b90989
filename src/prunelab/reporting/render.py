"""One template, two reports: Markdown with linked figures, and a self-contained HTML page.

The Markdown template is the single source; the HTML body is the same Markdown
(figures inlined as data URIs) turned into HTML by markdown-it, so the two reports
cannot say different things.
"""

from __future__ import annotations

import base64
from pathlib import Path

from jinja2 import Environment, PackageLoader, StrictUndefined
from markdown_it import MarkdownIt
from markupsafe import Markup

_ENV = Environment(loader=PackageLoader("prunelab", "templates"), undefined=StrictUndefined, trim_blocks=True,
                   lstrip_blocks=True)


def render(context: dict, out_dir: Path) -> None:
    """Write report.md (figures linked) and report.html (figures inlined) into ``out_dir``, each atomically."""
    out_dir = Path(out_dir)
    figures = context["figures"]
    links = {name: Path(path).relative_to(out_dir).as_posix() for name, path in figures.items()}
    inline = {name: "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode()
              for name, path in figures.items()}
    template = _ENV.get_template("report.md.j2")
    markdown = template.render(**context, images=links)
    body = MarkdownIt("commonmark").enable("table").render(template.render(**context, images=inline))
    html = _ENV.get_template("page.html.j2").render(checkpoint=context["checkpoint"], body=Markup(body))
    for name, text in (("report.md", markdown), ("report.html", html)):
        staging = out_dir / f"{name}.partial"
        staging.write_text(text)
        staging.replace(out_dir / name)
