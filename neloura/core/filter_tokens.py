"""Tokens of the filter language (see :mod:`neloura.core.filters` for the grammar).

Numbers, 'single' or "double" quoted strings, `back-quoted` column names, ``$N`` column indexes,
identifiers and operators; every token keeps its 0-based position for error messages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from neloura.errors import InvalidFilter

KEYWORDS = {"and", "or", "not", "contains", "is", "null", "true", "false"}


@dataclass(frozen=True)
class Token:
    kind: str  # num, str, ident, quoted, index, op, end
    text: str
    value: Any
    pos: int


_TOKEN = re.compile(
    r"""(?P<space>\s+)
      |(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
      |(?P<str>'(?:[^'\\]|\\.|'')*'|"(?:[^"\\]|\\.)*")
      |(?P<quoted>`[^`]+`)
      |(?P<index>\$\d+)
      |(?P<ident>[A-Za-z_][A-Za-z0-9_]*)
      |(?P<op>&&|\|\||==|!=|<>|<=|>=|[-+*/%<>=!(),])""",
    re.VERBOSE,
)


def tokenize(text: str) -> list[Token]:
    """Split ``text`` into tokens; an unexpected character is an :class:`InvalidFilter`."""
    tokens: list[Token] = []
    pos = 0
    while pos < len(text):
        match = _TOKEN.match(text, pos)
        if match is None:
            raise InvalidFilter(f"unexpected character {text[pos]!r} at position {pos}", position=pos)
        kind = match.lastgroup or ""
        raw = match.group()
        if kind == "num":
            value: Any = float(raw) if any(c in raw for c in ".eE") else int(raw)
            tokens.append(Token("num", raw, value, pos))
        elif kind == "str":
            body = raw[1:-1]
            body = body.replace("''", "'") if raw[0] == "'" else body
            tokens.append(Token("str", raw, re.sub(r"\\(.)", r"\1", body), pos))
        elif kind == "quoted":
            tokens.append(Token("quoted", raw, raw[1:-1], pos))
        elif kind == "index":
            tokens.append(Token("index", raw, int(raw[1:]), pos))
        elif kind == "ident":
            tokens.append(Token("ident", raw, raw, pos))
        elif kind == "op":
            tokens.append(Token("op", raw, raw, pos))
        pos = match.end()
    tokens.append(Token("end", "", None, len(text)))
    return tokens
