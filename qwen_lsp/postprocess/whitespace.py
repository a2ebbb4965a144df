"""Whitespace at the edges of a suggestion (one of the last steps of ``postprocess``).

The text right of the cursor decides: when more text follows on the cursor line, the spaces at
the end of the suggestion separate it from that text (``return `` + ``False``) and are kept,
unless the following text starts with a space itself; at the end of a line trailing whitespace
(and trailing blank lines) go. A suggestion that starts with a space right after a space left of
the cursor loses it (no doubled space). Whitespace inside the text is never touched.
"""

from __future__ import annotations

_SPACE = " \t"


def fit_spaces(text: str, line_prefix: str, rest: str) -> str:
    """``text`` to insert between ``line_prefix`` and ``rest`` (what stays right of it)."""
    if rest.strip():
        if rest[0] in _SPACE:
            text = text.rstrip(_SPACE)
    else:
        text = text.rstrip()
    if line_prefix.strip() and line_prefix[-1:] in (" ", "\t") and text[:1] in (" ", "\t"):
        text = text.lstrip(_SPACE)
    return text
