"""What a submission puts into an HTML page is made inert before any instructor or student opens it.

Formgrader and the feedback pages render the autograded notebook, whose markdown cells and (with ``--execute``)
outputs are the student's. ``SanitizeCells`` runs in autograde, so the stored notebook is already clean, and again
in feedback:

- markdown and raw cells are rendered (nbconvert's own markdown) and cleaned with bleach: no script, style,
  event handler or ``javascript:`` URL survives; the result is stored as one line of HTML inside a ``<div>``,
  which a markdown renderer passes through as it is (so no markdown link can come back to life);
- outputs keep only plain text, images, JSON and cleaned HTML: JavaScript, SVG, widgets and unknown types go;
- attachments and widget state go.
"""

from __future__ import annotations

import functools

import bleach
from nbgrader.preprocessors import NbGraderPreprocessor

_TAGS = {*bleach.ALLOWED_TAGS, "p", "div", "span", "pre", "code", "br", "hr", "img", "h1", "h2", "h3", "h4", "h5",
         "h6", "table", "thead", "tbody", "tr", "th", "td", "sup", "sub", "del", "dl", "dt", "dd"}
_ATTRIBUTES = {"a": ["href", "title"], "img": ["src", "alt", "title"], "th": ["colspan", "rowspan"],
               "td": ["colspan", "rowspan"], "*": ["class"]}
_KEPT = {"text/plain", "text/latex", "application/json", "image/png", "image/jpeg"}


def clean(html: str) -> str:
    """``html`` with only harmless tags and attributes (http, https and mailto links), as one inert block."""
    cleaned = bleach.clean(html, tags=_TAGS, attributes=_ATTRIBUTES, protocols={"http", "https", "mailto"},
                           strip=True, strip_comments=True)
    return "<div>" + cleaned.replace("\r", "").replace("\n", "&#10;") + "</div>"


@functools.lru_cache(maxsize=4096)  # the course's own cells are the same in every submission a worker grades
def markdown_html(source: str) -> str:
    from nbconvert.filters.markdown import markdown2html

    return clean(markdown2html(source))


class SanitizeCells(NbGraderPreprocessor):
    """nbgrader/nbconvert preprocessor: the notebook's HTML made inert (see the module)."""

    def preprocess(self, nb, resources):
        nb.metadata.pop("widgets", None)
        return super().preprocess(nb, resources)

    def preprocess_cell(self, cell, resources, index):
        cell.pop("attachments", None)
        if cell.cell_type in ("markdown", "raw"):
            cell.source = markdown_html(cell.source) if cell.cell_type == "markdown" else clean(cell.source)
        for output in cell.get("outputs", []):
            data = output.get("data")
            if not data:
                continue
            if "text/markdown" in data and "text/html" not in data:
                data["text/html"] = markdown_html(_text(data["text/markdown"]))
            for mime in list(data):
                if mime == "text/html":
                    data[mime] = clean(_text(data[mime]))
                elif mime not in _KEPT:
                    del data[mime]
        return cell, resources


def _text(value) -> str:
    return "".join(value) if isinstance(value, list) else str(value)
