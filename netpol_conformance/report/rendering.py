"""The report page's template environment: the templates shipped in ``templates/``, with
autoescaping, so that every value given to them is escaped there and nowhere else. Markup made
by another template is passed on as ``Markup`` and not escaped again."""

from __future__ import annotations

from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup


@cache
def environment() -> Environment:
    return Environment(
        loader=PackageLoader("netpol_conformance.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        keep_trailing_newline=True,
    )


def render(template: str, **values: Any) -> Markup:
    """The template ``template`` rendered with ``values``, as markup for another template."""
    return Markup(environment().get_template(template).render(**values))
