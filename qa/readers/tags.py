"""Split a web page into text and tags, in one pass over it.

`tokens` reads markup as the HTML standard's tokenizer does, as far as reading a page
needs: tag names in lower case, attributes skipped (a quoted value may hold ">"),
comments, doctypes and processing instructions left out, the content of `<script>`,
`<style>`, `<title>`, `<iframe>`, `<noembed>` and `<noframes>` skipped whole, and that
of `<textarea>`, `<xmp>` and `<plaintext>` read as text.  Every step moves forward, so
the time is linear in the length of the page whatever it holds; a comment, quote or tag
left open runs to the end of the page, as in a browser.

    >>> list(tokens('<P class="a>b">Hi<br/>there<script>x = "<p>"</script>'))
    [('start', 'p'), ('text', 'Hi'), ('start', 'br'), ('text', 'there'), ('text', ' ')]

Not handled: character references (left to the parser), SVG's own rules (its `<style>`
is skipped as an HTML one is), `<![CDATA[` sections.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator

_TAG = re.compile(r"<(/?)([A-Za-z][^\t\n\f\r />]*+)")
# Most tags whole, in one match: plain attributes, values quoted or not, no spaces by "=".
_PLAIN_TAG = re.compile(
    r"""<(/?)([A-Za-z][^\t\n\f\r />]*+)(?:[\t\n\f\r /]++[^\t\n\f\r />="']++"""
    r"""(?:=(?:"[^"]*+"|'[^']*+'|[^\t\n\f\r >"'=<`]++))?)*+[\t\n\f\r /]*+>"""
)
# Spaces or slashes, then one attribute: a name, and "=" with a value, perhaps quoted.
_ATTRIBUTE = re.compile(
    r"""[\t\n\f\r /]*+(?:[^\t\n\f\r />][^\t\n\f\r />=]*+"""
    r"""(?:[\t\n\f\r ]*+=[\t\n\f\r ]*+(?:"[^"]*+"?|'[^']*+'?|[^\t\n\f\r >]*+))?)?"""
)
_COMMENT_END = re.compile(r"--!?>")
_SKIPPED = frozenset({"script", "style", "title", "iframe", "noembed", "noframes"})
_TEXT = frozenset({"textarea", "xmp"})
_RAW_END: dict[str, re.Pattern[str]] = {}


def tokens(text: str) -> Iterator[tuple[str, str]]:
    """("text", characters), ("start", name) and ("end", name) of the page `text`, in order.

    A skipped element leaves a ("text", " ") where it was, so words either side stay apart.
    """
    position, end = 0, len(text)
    while position < end:
        opening = text.find("<", position)
        if opening < 0:
            yield "text", text[position:]
            return
        if opening > position:
            yield "text", text[position:opening]
        tag = _PLAIN_TAG.match(text, opening)
        if tag:
            position = tag.end()
        elif tag := _TAG.match(text, opening):
            position = _tag_end(text, tag.end())
        else:
            position = yield from _other_markup(text, opening)
            continue
        name = tag.group(2).lower()
        if tag.group(1):
            yield "end", name
        elif name == "plaintext":
            yield "text", " " + text[position:]
            return
        elif name in _SKIPPED or name in _TEXT:
            content, position = _raw_content(text, position, name)
            yield "text", f" {content} " if name in _TEXT else " "
        else:
            yield "start", name


def _other_markup(text: str, opening: int) -> Generator[tuple[str, str], None, int]:
    """A comment, doctype or stray "<" at `opening`; returns where the text goes on.

    A comment leaves a space, as a skipped element does."""
    if text.startswith(("<!", "<?", "</"), opening) and opening + 2 < len(text):
        yield "text", " "
    if text.startswith("<!--", opening):
        if text.startswith((">", "->"), opening + 4):  # "<!-->" and "<!--->" close at once
            return text.find(">", opening + 4) + 1
        comment_end = _COMMENT_END.search(text, opening + 4)
        return comment_end.end() if comment_end else len(text)
    if text.startswith(("<!", "<?", "</"), opening) and opening + 2 < len(text):
        close = text.find(">", opening + 2)
        return close + 1 if close >= 0 else len(text)
    yield "text", "<"
    return opening + 1


def _tag_end(text: str, position: int) -> int:
    """Just after the ">" that ends the tag whose attributes start at `position`."""
    while position < len(text):
        attribute = _ATTRIBUTE.match(text, position)
        position = attribute.end() if attribute else position
        if position < len(text) and text[position] == ">":
            return position + 1
        if attribute is None or attribute.end() == attribute.start():
            position += 1  # a character no attribute starts with ("="): part of a name
    return len(text)


def _raw_content(text: str, position: int, name: str) -> tuple[str, int]:
    """The raw text of the element `name` from `position`, and where its end tag ends."""
    pattern = _RAW_END.get(name)
    if pattern is None:
        pattern = _RAW_END[name] = re.compile(rf"</{name}[\t\n\f\r />]", re.IGNORECASE)
    close = pattern.search(text, position)
    if close is None:
        return text[position:], len(text)
    return text[position : close.start()], _tag_end(text, close.end() - 1)
