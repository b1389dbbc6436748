"""Text a therapist writes, shown safely: a small Markdown subset, sanitised with nh3."""

from __future__ import annotations

from functools import cache

import nh3
from flask import Flask
from markdown_it import MarkdownIt
from markupsafe import Markup

# Emphasis and links only; raw HTML in the source is shown as text, never as markup.
ALLOWED_TAGS = {"strong", "em", "a"}
ALLOWED_ATTRIBUTES = {"a": {"href"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}
# An invisible break opportunity (U+200B, which handouts put into long words so that
# WeasyPrint can wrap them) is never part of an address.
BREAK_OPPORTUNITY = ("\u200b", "%E2%80%8B")


def _attribute(tag: str, name: str, value: str) -> str:
    if name == "href":
        for mark in BREAK_OPPORTUNITY:
            value = value.replace(mark, "")
    return value


@cache
def _markdown() -> MarkdownIt:
    return MarkdownIt("zero", {"html": False}).enable(["emphasis", "link"])


def render_inline(source: str | None) -> Markup:
    """One line of Markdown (bold, italic, links) as sanitised HTML."""
    html = _markdown().renderInline(source or "")
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        attribute_filter=_attribute,
        link_rel="noopener noreferrer nofollow",
    )
    return Markup(clean)  # noqa: S704  (nh3 has just removed everything not allowed)


def lines(text: str | None) -> list[str]:
    """Non-empty lines of a textarea, trimmed: one step or prompt per line."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def init_app(app: Flask) -> None:
    from therapy.library import steps

    app.add_template_filter(render_inline, "inline_md")
    # An exercise's steps in templates: each marked as the couple's or the therapist's,
    # only the therapist's, and a text's {m:N} timings at a plan's minutes.
    app.add_template_filter(steps.parse, "steps")
    app.add_template_filter(steps.therapist_steps, "therapist_steps")
    app.add_template_filter(steps.scaled, "timed")
