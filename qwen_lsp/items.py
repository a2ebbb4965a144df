"""Items: the LSP answer (postprocess → **items**, the last stage).

A :class:`Suggestion` (the text to insert at the cursor, with positions already in the client's
encoding) becomes an ``InlineCompletionList`` for editors with ghost text, or a
``CompletionList`` for Helix, eglot and older Neovim: one item whose ``textEdit`` replaces the
word typed so far with that word plus the suggestion, marked incomplete so the editor asks again
as the user types. When the suggestion re-types closers an editor auto-inserted right of the
cursor, the inline item's ``range`` and the completion item's ``textEdit`` extend over them, so
the document ends with one set.
"""

from __future__ import annotations

from dataclasses import dataclass

from lsprotocol import types as lsp

ACCEPT_COMMAND = "qwen-lsp.accepted"


@dataclass(frozen=True, slots=True)
class Suggestion:
    """A post-processed completion at a cursor (columns in the client's position encoding)."""

    text: str
    line: int
    character: int
    word_start: int  # column where the identifier at the cursor starts
    word: str  # that identifier's text left of the cursor
    id: str = ""
    language: str = ""
    end: int = -1  # column where the replaced text right of the cursor ends (-1: the cursor)

    @property
    def end_character(self) -> int:
        return self.character if self.end < 0 else self.end


def inline_list(s: Suggestion) -> lsp.InlineCompletionList:
    """``textDocument/inlineCompletion``: the text at the cursor; accepting runs a command."""
    cursor = lsp.Position(s.line, s.character)
    end = lsp.Position(s.line, s.end_character)
    command = lsp.Command(
        title="Qwen completion accepted",
        command=ACCEPT_COMMAND,
        arguments=[{"id": s.id, "language": s.language}],
    )
    item = lsp.InlineCompletionItem(
        insert_text=s.text, range=lsp.Range(cursor, end), command=command
    )
    return lsp.InlineCompletionList(items=[item])


def completion_list(
    s: Suggestion, markdown: bool = True, snippet: bool = False
) -> lsp.CompletionList:
    """``textDocument/completion``: one item that inserts the same text.

    ``markdown``: the client renders Markdown documentation (else it gets plain text).
    ``snippet``: the client supports snippets. The text is then sent as a snippet with every
    ``\\``, ``$`` and ``}`` escaped, so it inserts literally: Neovim 0.11+ inserts a plain-text
    edit only up to its first space (it treats it as a word), but a snippet whole.
    """
    new_text = s.word + s.text
    label = _label(new_text)
    edit = lsp.TextEdit(
        range=lsp.Range(lsp.Position(s.line, s.word_start), lsp.Position(s.line, s.end_character)),
        new_text=new_text,
    )
    item = lsp.CompletionItem(
        label=label,
        kind=lsp.CompletionItemKind.Text,
        detail="Qwen",
        documentation=lsp.MarkupContent(
            kind=lsp.MarkupKind.Markdown, value=f"```{s.language}\n{new_text}\n```"
        )
        if markdown
        else new_text,
        text_edit=lsp.TextEdit(range=edit.range, new_text=escape_snippet(new_text))
        if snippet
        else edit,
        insert_text_format=lsp.InsertTextFormat.Snippet
        if snippet
        else lsp.InsertTextFormat.PlainText,
        filter_text=new_text.split("\n", 1)[0],
        sort_text="0",
        preselect=True,
    )
    return lsp.CompletionList(is_incomplete=True, items=[item])


def escape_snippet(text: str) -> str:
    """``text`` as a snippet that expands to exactly ``text``."""
    return text.replace("\\", "\\\\").replace("$", "\\$").replace("}", "\\}")


def empty_completion_list() -> lsp.CompletionList:
    """An answer with nothing in it, still incomplete so the editor asks again."""
    return lsp.CompletionList(is_incomplete=True, items=[])


def _label(text: str) -> str:
    first = text.split("\n", 1)[0]
    if first.strip():
        return first.strip()
    return next((ln.strip() for ln in text.split("\n") if ln.strip()), text)
