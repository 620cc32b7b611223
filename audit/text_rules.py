"""What text people type or import may hold: names and refs, notes, and how long text is shown.

Case refs, site names, inspector and inspection names identify things, so two of them
must never look the same and be different. They are trimmed, runs of spaces (any
Unicode space, such as a no-break space) become one space, they are NFC-normalised
(an "é" typed as one character or as "e" plus an accent is the same name), and they
may hold no control character (NUL included, C0 and C1) and no invisible format
character (zero-width spaces and joiners, the word joiner, the byte-order mark, bidi
embeddings, overrides and isolates): "Leeds" and "Leeds" followed by a zero-width space
would otherwise be two sites that look alike.

Notes are prose: they may hold line breaks and tabs, but no other control character (a
NUL, or an escape sequence that would drive the terminal printing it), and at most
`NOTE_MAX` characters. Text longer than a screen can show at once (a note stored by an
older version without the cap) is shown shortened by `preview`, never in full.
"""

from __future__ import annotations

import re
import unicodedata

from audit.errors import UsageError

NOTE_MAX = 20_000
"""The longest note, in characters (about eight pages of prose)."""

COMMENT_MAX = 2_000
"""The longest comment, response or reason in a data query's thread (characters)."""

PREVIEW_CHARS = 2_000
"""How much of a long text the app and the command line show."""

# Spaces people type (or paste) that look like an ordinary space; trimmed at the ends of
# a name and turned into one ordinary space inside it.
SPACES = " \u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009" \
         "\u200a\u202f\u205f\u3000"
_TRIM = SPACES + "\t\r\n"  # a cell's stray trailing line break is trimmed, not refused
_SPACE_RUN = re.compile(f"[{SPACES}]+")

# Invisible characters that change how text looks or reads without being seen. Most are
# in Unicode's "format" category (Cf), which is refused as a whole; these are named
# because the rule is written against them.
INVISIBLE = frozenset("\u200b\u200c\u200d\u2060\ufeff"  # zero-width, word joiner, BOM
                      "\u202a\u202b\u202c\u202d\u202e"  # bidi embeddings and overrides
                      "\u2066\u2067\u2068\u2069")  # bidi isolates
_REFUSED_IN_NAMES = {"Cc": "a control character", "Cf": "an invisible formatting character",
                     "Zl": "a line separator", "Zp": "a paragraph separator",
                     "Cs": "a lone surrogate"}
_NOTE_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")  # Cc but tab, LF, CR


def visible(text: str, limit: int = 60) -> str:
    """`text` for an error message: control and invisible characters written as escapes
    (\\x00, \\u200b), cut to `limit` characters, so a message shows what was refused."""
    head = text[: limit + 1]  # never walk a 50 MB cell to show 60 characters of it
    out = "".join(_escaped(c) for c in head)
    return out if len(out) <= limit and len(text) <= limit else out[: limit - 1] + "…"


_ESCAPES = {"\t": "\\t", "\n": "\\n", "\r": "\\r"}


def _escaped(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if c in INVISIBLE or unicodedata.category(c) in _REFUSED_IN_NAMES:
        code = ord(c)
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
    return c


def name_problem(value: str) -> str | None:
    """Why `value` cannot be a case ref or a name (None when it can)."""
    if value.isprintable():  # the usual case, at C speed: no Cc, Cf, Zl, Zp, Cs in it
        return None
    for i, c in enumerate(value):
        if c in INVISIBLE or unicodedata.category(c) in _REFUSED_IN_NAMES:
            what = _REFUSED_IN_NAMES.get(unicodedata.category(c),
                                         "an invisible formatting character")
            code = ord(c)
            shown = f"\\x{code:02x}" if code < 0x100 else f"U+{code:04X}"
            return (f"holds {what} ({shown}, at character {i + 1}): names and case refs "
                    "may hold only visible characters and spaces")
    return None


def normal(value: str) -> str:
    """A ref or name as it is compared and stored: trimmed, one space between words, NFC."""
    return unicodedata.normalize("NFC", _SPACE_RUN.sub(" ", value.strip(_TRIM)))


def clean_name(value: str, what: str = "name") -> str:
    """`value` normalised (see `normal`); UsageError naming `what` when it holds a
    character a name may not hold. Empty stays empty: callers say whether one is needed."""
    text = normal(value)
    reason = name_problem(text)
    if reason:
        raise UsageError(f"{what} '{visible(text)}' {reason}")
    return text


def note_problem(text: str) -> str | None:
    """Why `text` cannot be stored as a note (None when it can)."""
    if len(text) > NOTE_MAX:
        return (f"the note is {len(text):,} characters long; a note may be at most "
                f"{NOTE_MAX:,} characters")
    found = _NOTE_CONTROL.search(text)
    if found:
        return (f"the note holds a control character (\\x{ord(found.group()):02x}, at "
                f"character {found.start() + 1}); notes may hold line breaks and tabs but no "
                "other control character")
    return None


def check_note(text: str | None) -> str | None:
    """A note fit to store (None for none); UsageError when it is too long or holds a NUL
    or another control character."""
    if not text:
        return None
    reason = note_problem(text)
    if reason:
        raise UsageError(reason)
    return text


def is_long(text: str | None, limit: int = NOTE_MAX) -> bool:
    """Whether `text` is too long to show or edit whole (a note stored before the cap)."""
    return text is not None and len(text) > limit


def preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    """The first `limit` characters, then "… (N more characters)" when there are more."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters)"


def clean_comment(text: str | None, what: str = "a comment") -> str:
    """A data query's comment, response or reason as stored: trimmed and NFC-normalised,
    with line breaks and tabs kept. UsageError when nothing is left (`what` is needed),
    when it is longer than `COMMENT_MAX`, or when it holds a NUL or another control
    character (it is printed by `history` and `query show`, where an escape sequence
    could rewrite the lines above it) or an invisible formatting character."""
    cleaned = unicodedata.normalize("NFC", (text or "").strip(_TRIM))
    if not cleaned:
        raise UsageError(f"{what} is needed")
    if len(cleaned) > COMMENT_MAX:
        raise UsageError(f"{what} is {len(cleaned):,} characters long; at most "
                         f"{COMMENT_MAX:,} are kept")
    found = _NOTE_CONTROL.search(cleaned)
    if found:
        raise UsageError(f"{what} holds a control character (\\x{ord(found.group()):02x}, at "
                         f"character {found.start() + 1}): only line breaks and tabs may be "
                         "used")
    hidden = next((i for i, c in enumerate(cleaned) if c in INVISIBLE), None)
    if hidden is not None:
        raise UsageError(f"{what} holds an invisible formatting character "
                         f"(U+{ord(cleaned[hidden]):04X}, at character {hidden + 1})")
    return cleaned
