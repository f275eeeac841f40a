"""`filmc fmt`: one canonical layout, tokens kept as written, comments kept where they were."""

from __future__ import annotations

from dataclasses import dataclass, field

from lark import Lark, Token, Tree

from filmc.diagnostics import FilmError
from filmc.syntax.lower import unblock
from filmc.syntax.messages import syntax_diagnostic
from filmc.syntax.parser import grammar_text

INDENT = "  "

# Rules whose children print on one line after a keyword; the value is the keyword.
_INLINE = {
    "language": "language", "target": "duration", "by": "by", "style_text": "style",
    "style_include": "style include", "voice": "voice", "entity_image": "image",
    "instruments": "instruments", "intensity": "intensity", "camera": "camera", "light": "light",
    "mood": "mood", "clip": "clip", "say_voice": "voice", "tone": "tone", "pace": "pace",
    "pause_after": "pause-after", "start_absolute": "at", "music_file": "music file",
    "transition_in": "transition in", "transition_out": "transition out",
    "expect": "expect", "fit": "fit narration",
}
_BLOCKS = {"palette", "music_cues", "scene", "title_card", "credits_card"}


@dataclass
class _Printer:
    """Writes the canonical lines; `comments` are the ones alone on their line, `trailing` the ones after code.

    A trailing comment stays after the code it followed: it goes, once everything is printed, on the last
    output line made from its source line, so a one-line block laid out over several lines keeps its comment
    beside the statement (or the `}`) it was written after, not on the block's first line.
    """

    comments: list[Token]
    source: list[str]
    trailing: list[Token] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)   # source lines each output line came from
    last_line: int = 0

    def keep_gap(self, line: int) -> None:
        """A blank line the author left between two statements survives (several become one)."""
        gap = self.source[self.last_line: max(line - 1, self.last_line)]
        if line and any(not ln.strip() for ln in gap):
            self.blank()
        self.last_line = max(self.last_line, line)

    def flush_comments(self, before_line: int, depth: int) -> None:
        while self.comments and (self.comments[0].line or 0) < before_line:
            comment = self.comments.pop(0)
            self.keep_gap(comment.line or 0)
            self.put(INDENT * depth + str(comment).rstrip(), comment.line or 0, comment.line or 0)

    def emit(self, depth: int, text: str, line: int, end: int = 0) -> None:
        self.flush_comments(line, depth)
        if text == "}":
            self.last_line = max(self.last_line, line)
        else:
            self.keep_gap(line)
        self.put(INDENT * depth + text, line, max(line, end))
        self.last_line = max(self.last_line, end)

    def put(self, text: str, first: int, last: int) -> None:
        self.lines.append(text)
        self.spans.append((first, last))

    def attach_trailing(self) -> None:
        """Each trailing comment after the last output line its source line went into."""
        for comment in self.trailing:
            line = comment.line or 0
            printed = [i for i, (first, _) in enumerate(self.spans) if 0 < first <= line]
            # the last line made from its source line; else (a lone `{` a line below `film "…"`) the one before it
            at = next((i for i in reversed(printed) if line <= self.spans[i][1]), printed[-1] if printed else 0)
            self.lines[at] += "  " + str(comment).rstrip()

    def blank(self) -> None:
        if self.lines and self.lines[-1] != "" and not self.lines[-1].endswith("{"):
            self.put("", 0, 0)


def _tok(t: Token) -> str:
    if t.type == "BLOCK":
        return _reblock(str(t))
    return str(t)


def _reblock(raw: str) -> str:
    """A block re-indented so that `unblock` reads back the same text."""
    value = unblock(raw)
    if "\n" not in value:
        return f'"""{value}"""'
    body = "\n".join(("    " + ln) if ln else "" for ln in value.split("\n"))
    return f'"""\n{body}\n  """'


def _inline(tree: Tree[Token]) -> str:
    """A statement on one line: keyword, then its tokens and its inline sub-statements."""
    name = str(tree.data)
    words: list[str] = [] if name not in _INLINE else [_INLINE[name]]
    if name == "frame":
        return f"frame {tree.children[0]} @ {tree.children[1]}"
    if name == "start_relative":
        return f"+{tree.children[0]}"
    if name in ("with", "translate"):
        return f"{name} " + ", ".join(str(c) for c in tree.children)
    if name in ("entity", "say", "cue", "stop", "transition"):
        words = [{"cue": "", "stop": ""}.get(name, name)] if name not in ("cue", "stop") else []
    for child in tree.children:
        words.append(_inline(child) if isinstance(child, Tree) else _tok(child))
    return " ".join(w for w in words if w)


def _line(tree: Tree[Token]) -> int:
    return tree.meta.line if not tree.meta.empty else 0


def _print(p: _Printer, tree: Tree[Token], depth: int) -> None:
    name = str(tree.data)
    line = _line(tree)
    if name not in _BLOCKS and name != "shot":
        p.emit(depth, _inline(tree), line, 0 if tree.meta.empty else tree.meta.end_line)
        return
    kids = list(tree.children)
    if name == "shot":
        head = [_tok(k) for k in kids if isinstance(k, Token)]
        body = [k for k in kids if isinstance(k, Tree)]
        if not body:
            p.emit(depth, "shot " + " ".join(head), line)
            return
        _block(p, "shot " + " ".join(head), body, depth, line, tree)
        return
    p.blank()
    keyword = {"palette": "palette", "music_cues": "music", "scene": "scene",
               "title_card": "title", "credits_card": "credits"}[name]
    head = [_tok(k) for k in kids if isinstance(k, Token)]
    if name in ("title_card", "credits_card"):
        items = [_tok(k) if isinstance(k, Token) else _inline(k) for k in kids[1:]]
        if len(items) <= 1 and (tree.meta.empty or tree.meta.line == tree.meta.end_line):
            p.emit(depth, f"{keyword} {kids[0]} {{ {' '.join(items)} }}".replace("{  }", "{ }"), line)
            return
        p.emit(depth, f"{keyword} {kids[0]} {{", line)
        for k in kids[1:]:
            if isinstance(k, Token):
                p.emit(depth + 1, _tok(k), k.line or 0)
            else:
                _print(p, k, depth + 1)
        _close(p, depth, tree)
        return
    body = [k for k in kids if isinstance(k, Tree)]
    _block(p, " ".join([keyword, *head]), body, depth, line, tree)


def _block(p: _Printer, head: str, body: list[Tree[Token]], depth: int, line: int, tree: Tree[Token]) -> None:
    p.emit(depth, head + " {", line)
    for child in body:
        _print(p, child, depth + 1)
    _close(p, depth, tree)


def _close(p: _Printer, depth: int, tree: Tree[Token]) -> None:
    end = tree.meta.end_line if not tree.meta.empty else 0
    p.flush_comments(end, depth + 1)
    p.emit(depth, "}", end)


def format_text(text: str, path: str) -> str:
    """Canonical text of a film; raises FilmError if it does not parse (fmt never guesses)."""
    comments: list[Token] = []
    lark = Lark(grammar_text(), parser="lalr", propagate_positions=True, maybe_placeholders=False,
                lexer_callbacks={"COMMENT": comments.append})
    try:
        tree = lark.parse(text)
    except Exception as err:  # Lark's UnexpectedInput family; translated like the parser's
        from lark.exceptions import UnexpectedInput

        if isinstance(err, UnexpectedInput):
            raise FilmError([syntax_diagnostic(err, text, path, lark.terminals)]) from None
        raise
    film = tree.children[0]
    assert isinstance(film, Tree)
    ordered = sorted(comments, key=lambda c: (c.line or 0, c.column or 0))
    raw_lines = text.split("\n")   # as the lexer counts lines

    def after_code(c: Token) -> bool:
        return bool(raw_lines[(c.line or 1) - 1][: (c.column or 1) - 1].strip())

    p = _Printer(comments=[c for c in ordered if not after_code(c)], source=text.splitlines(),
                 trailing=[c for c in ordered if after_code(c)])
    title = film.children[0]
    p.emit(0, f"film {title} {{", _line(film))
    for child in film.children[1:]:
        if isinstance(child, Tree):
            _print(p, child, 1)
    _close(p, 0, film)
    p.flush_comments(10**9, 0)
    p.attach_trailing()
    return "\n".join(p.lines) + "\n"
