"""The Jinja environments reports are rendered with, and the per-process cache of compiled templates.

Autoescape is on: a batch renders thousands of reports and an unescaped `&` or `<` in a clerk's text
silently corrupts the document.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

import jinja2


class _Environment(jinja2.Environment):
    """`{{ t3.values.x }}` must mean the row called `values`, not dict.values: prefer keys over attributes."""

    def getattr(self, obj, attribute):
        if isinstance(obj, dict) and attribute in obj:
            return obj[attribute]
        return super().getattr(obj, attribute)


def canonical_text(value: object) -> str:
    """A printed value escaped as lxml writes text (`&amp; &lt; &gt;`, quotes as they are), so the
    rendered XML is already what parsing and serialising it again would give. Markup (from `|e`)
    is printed as it is, as autoescape would."""
    if hasattr(value, "__html__"):
        return value.__html__()
    text = str(value)
    if "&" in text or "<" in text or ">" in text:
        text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return text


ENV = _Environment(autoescape=True)
PLAIN_ENV = _Environment(autoescape=False)  # document properties: python-docx escapes them itself
# The compiled renderer's: escaping by `finalize` is autoescape's for templates that capture no
# output (no macro, call, filter block or block set: toolkit.reports.shape refuses those).
CANONICAL_ENV = _Environment(autoescape=False, finalize=canonical_text)
_COMPILED: OrderedDict[tuple[str, int], jinja2.Template] = OrderedDict()
_LOCK = threading.Lock()


def compile_template(source: str, env: jinja2.Environment = ENV) -> jinja2.Template:
    """Each distinct template part is compiled once per process (compiling costs more than rendering)."""
    key = (source, id(env))
    with _LOCK:
        template = _COMPILED.get(key)
        if template is not None:
            _COMPILED.move_to_end(key)
            return template
    template = env.from_string(source)
    with _LOCK:
        _COMPILED[key] = template
        while len(_COMPILED) > 64:
            _COMPILED.popitem(last=False)
    return template
