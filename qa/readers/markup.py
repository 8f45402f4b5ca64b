"""Tidy a web page before it is parsed: only the tags the HTML reader uses, each closed in
order, never more than `MAX_DEPTH` deep, so parsing and reading take linear time.

An HTML parser looks through the elements open around each tag it meets (a paragraph to
close? a list item?), so markup nested thousands of levels deep costs it time quadratic
in the depth, and every formatting tag a paragraph closes (`<b>`, `<font>`) is opened
again in each paragraph after it.  `tidy` reads the tags once (`qa.readers.tags`), keeps
the stack of open elements as the HTML standard's parser does for the tags it keeps, and
writes:

- the structural tags (headings, paragraphs, lists, tables, quotes, sections), without
  attributes, each closed explicitly, so the parser builds the tree decided here;
- nothing for what the reader leaves out (`LEFT_OUT`: navigation, headers, footers,
  asides, forms, templates, SVG, scripts...), with all they hold;
- a space for any other tag (`<span>`, `<a>`, `<b>`, `<br>`...), its text kept;
- a space for a tag that would nest deeper than `MAX_DEPTH`: its text is read as part
  of the element around it, or as a paragraph when the tag is one (`BLOCK_TAGS`).

    >>> tidy('<div><P id=x>One<b>two<ul><li>Three<li>Four</ul></div><nav>Menu</nav>')
    '<!DOCTYPE html><div><p>One two</p><ul><li>Three</li><li>Four</li></ul></div> '

Not handled: MathML, and the parser's rarer repairs (text set straight in a table is
left to it).
"""

from __future__ import annotations

from collections import defaultdict

from qa.readers.tags import tokens

MAX_DEPTH = 256
"""Elements open at once; pages nest a few dozen, browsers stop at 512."""

_HEADINGS = frozenset({"h1", "h2", "h3", "h4", "h5", "h6"})
# Start tags that close an open paragraph; their end tags close what is open inside them.
_BLOCK_NAMES = (
    "address article aside blockquote center details dialog dir div dl fieldset figcaption "
    "figure footer form header hgroup listing main menu nav ol pre search section summary ul"
)
_BLOCKS = frozenset(_BLOCK_NAMES.split())
_CELLS, _SECTIONS = frozenset({"td", "th"}), frozenset({"thead", "tbody", "tfoot"})
_TABLE_PARTS = _CELLS | _SECTIONS | {"caption", "tr"}
LEFT_OUT = frozenset({"nav", "header", "footer", "aside", "form", "template", "noscript", "svg"})
BLOCK_TAGS = _HEADINGS | {"p", "li", "pre", "blockquote", "tr", "dt", "dd", "figcaption"}
"""The elements the HTML reader reads as paragraphs (with all they hold)."""
_KEPT = _HEADINGS | _BLOCKS | _TABLE_PARTS | LEFT_OUT | {"p", "li", "dd", "dt", "table"}
# Tags that end an SVG drawing when met inside it (the standard's "breakout" list, in part).
_BREAKOUT = _HEADINGS | _BLOCKS | {"p", "li", "dd", "dt", "table", "body", "br", "hr", "img"}
_SCOPE = frozenset({"table", "td", "th", "caption", "template"})  # an end tag looks no lower


def _keys(name: str) -> tuple[str, ...]:
    """The groups an open element is found by: its name, and the kinds it belongs to."""
    keys = [name]
    keys += ["heading"] if name in _HEADINGS else []
    keys += ["cell"] if name in _CELLS else []
    keys += ["section"] if name in _SECTIONS else []
    keys += ["scope", "list scope"] if name in _SCOPE else []
    keys += ["list scope"] if name in ("ol", "ul") else []
    keys += ["table scope"] if name in ("table", "template") else []
    # A new list item closes the one open unless another element stands between them
    # (a div, address or paragraph does not count), and so does a new dd or dt.
    keys += ["li stop"] if name not in ("address", "div", "p", "li") else []
    keys += ["dd stop"] if name not in ("address", "div", "p", "dd", "dt") else []
    keys += ["dd dt"] if name in ("dd", "dt") else []
    return tuple(keys)


_KEYS = {name: _keys(name) for name in _KEPT}


class _Tree:
    """The open elements, and the tidy markup written so far."""

    def __init__(self) -> None:
        self.out: list[str] = ["<!DOCTYPE html>"]
        self.stack: list[tuple[str, int]] = []  # (name, where the output stood when it opened)
        self.found: defaultdict[str, list[int]] = defaultdict(list)  # key -> stack positions
        self.too_deep: defaultdict[str, int] = defaultdict(int)

    def nearest(self, key: str) -> int:
        """The position of the innermost open element of `key`; -1 when none is open."""
        found = self.found[key]
        return found[-1] if found else -1

    def push(self, name: str) -> None:
        if len(self.stack) >= MAX_DEPTH and not (name == "p" and len(self.stack) == MAX_DEPTH):
            self.too_deep[name] += 1
            self.out.append(" ")
            if name not in BLOCK_TAGS:
                return
            # Read as a paragraph of its own: the one place a paragraph may open this deep.
            self.close_paragraph()
            name = "p"
        for key in _KEYS[name]:
            self.found[key].append(len(self.stack))
        self.stack.append((name, len(self.out)))
        self.out.append(" " if name in LEFT_OUT else f"<{name}>")

    def pop_to(self, position: int) -> None:
        """Close the element at `position` and every one inside it."""
        while len(self.stack) > position:
            name, mark = self.stack.pop()
            for key in _KEYS[name]:
                self.found[key].pop()
            if name in LEFT_OUT:
                del self.out[mark + 1 :]  # all it held goes, and its space stays
            else:
                self.out.append(f"</{name}>")

    def close(self, name: str, scope: str = "scope") -> None:
        """An end tag: close the innermost `name` unless an element of `scope` is inside it."""
        position = self.nearest(name)
        if position >= 0 and position >= self.nearest(scope):
            self.pop_to(position)

    def close_paragraph(self) -> None:
        self.close("p")

    def start(self, name: str) -> None:
        if self.stack and self.stack[-1][0] == "svg" and name in _BREAKOUT:
            self.pop_to(self._drawing())
        if name not in _KEPT or (self.stack and self.stack[-1][0] == "svg" and name != "svg"):
            self.out.append(" ")
        elif name == "table" or name in _TABLE_PARTS:
            self._table_part(name)
        else:
            if name == "li" and self.nearest("li") > self.nearest("li stop"):
                self.pop_to(self.nearest("li"))
            if name in ("dd", "dt") and self.nearest("dd dt") > self.nearest("dd stop"):
                self.pop_to(self.nearest("dd dt"))
            if name not in ("template", "noscript", "svg"):
                self.close_paragraph()
            if name in _HEADINGS and self.stack and self.stack[-1][0] in _HEADINGS:
                self.pop_to(len(self.stack) - 1)
            self.push(name)

    def _drawing(self) -> int:
        """Where the run of SVG elements at the top of the stack begins."""
        position = len(self.stack) - 1
        while position > 0 and self.stack[position - 1][0] == "svg":
            position -= 1
        return position

    def _table_part(self, name: str) -> None:
        table = self.nearest("table")
        if name == "table":
            if table > max(self.nearest("cell"), self.nearest("template")):
                # In a table, outside its cells: the open table ends where this one begins.
                self.pop_to(table)
            self.close_paragraph()
            self.push("table")
            return
        if table < 0 or table < self.nearest("table scope"):
            self.out.append(" ")  # a cell or row outside any table: the parser ignores it
            return
        if name in _CELLS:
            row = self.nearest("tr")
            if row > table:
                self.pop_to(row + 1)
            else:
                self.pop_to(max(table, self.nearest("section")) + 1)
                self.push("tr")
        elif name == "tr":
            self.pop_to(max(table, self.nearest("section")) + 1)
        else:
            self.pop_to(table + 1)
        self.push(name)

    def end(self, name: str) -> None:
        if self.too_deep[name]:
            self.too_deep[name] -= 1
            self.close_paragraph()
            self.out.append(" ")
        elif name in _HEADINGS:
            heading = self.nearest("heading")
            if heading >= 0 and heading >= self.nearest("scope"):
                self.pop_to(heading)
        elif name == "li":
            self.close(name, "list scope")
        elif name == "table" or name in _TABLE_PARTS:
            self.close(name, "table scope")
        elif name in _KEPT:
            self.close(name)
        else:
            self.out.append(" ")


def tidy(text: str) -> str:
    """The page `text` as tidy markup: see the module docstring."""
    tree = _Tree()
    for kind, value in tokens(text):
        if kind == "text":
            tree.out.append(value.replace("<", "&lt;"))
        elif kind == "start":
            tree.start(value)
        else:
            tree.end(value)
    tree.pop_to(0)
    return "".join(tree.out)
