"""Characters that must never reach an output raw, and their visible escapes.

Guest records, symbol names from the ELF, DWARF file names and source lines are untrusted;
the database itself may come from elsewhere. Printed raw, ESC and the other C0 and C1
controls drive the terminal (clear it, retitle it, rewrite earlier lines), bidirectional
overrides reorder what a reader sees, and XML 1.0 cannot carry C0 characters at all. Each
output applies one of these functions at a single point: the terminal text when it is joined
(summary.py), the HTML through the jinja2 environment's finalize (html_report.py), the JUnit
tree before it is serialized (junit.py). JSON and SARIF need nothing: json.dumps (ensure_ascii)
writes every character outside printable ASCII as a \\u escape.
"""
from __future__ import annotations

import re

# beyond C0: DEL and the C1 controls, the line and paragraph separators, the bidirectional
# embeddings, overrides and isolates, and what XML 1.0 cannot carry (lone surrogates, U+FFFE,
# U+FFFF)
_BEYOND_C0 = "\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufffe\uffff"
_UNSAFE_IN_FIELD = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
_UNSAFE_IN_DOCUMENT = re.compile(f"[\x00-\x08\x0b-\x1f{_BEYOND_C0}]")   # tab, newline stay


def _escape(m: re.Match) -> str:
    c = ord(m.group())
    return f"\\x{c:02x}" if c < 0x100 else f"\\u{c:04x}"


def visible(text: str) -> str:
    """text with every unsafe character as a visible escape (ESC -> \\x1b), newlines and tabs
    included: for one field or one line of terminal output."""
    return _UNSAFE_IN_FIELD.sub(_escape, text)


def visible_in_document(text: str) -> str:
    """Like visible(), but newlines and tabs stay: for a markup document (HTML, XML), where
    they are layout and drive nothing."""
    return _UNSAFE_IN_DOCUMENT.sub(_escape, text)
