"""items: inline and completion answers built from one suggestion."""

from __future__ import annotations

from lsprotocol import types as lsp

from qwen_lsp.items import ACCEPT_COMMAND, Suggestion, completion_list, inline_list

S = Suggestion(
    text="ult = compute(x)\nreturn result",
    line=3,
    character=10,
    word_start=4,
    word="res",
    id="abc",
    language="python",
)


def test_inline_item_inserts_at_the_cursor_and_carries_the_accept_command() -> None:
    item = inline_list(S).items[0]
    assert item.insert_text == S.text
    assert item.range == lsp.Range(lsp.Position(3, 10), lsp.Position(3, 10))
    assert item.command is not None and item.command.command == ACCEPT_COMMAND
    assert item.command.arguments == [{"id": "abc", "language": "python"}]


def test_completion_item_replaces_the_word_with_word_plus_text() -> None:
    result = completion_list(S)
    assert result.is_incomplete
    item = result.items[0]
    assert item.label == "result = compute(x)"
    assert isinstance(item.text_edit, lsp.TextEdit)
    assert item.text_edit.range == lsp.Range(lsp.Position(3, 4), lsp.Position(3, 10))
    assert item.text_edit.new_text == "res" + S.text
    assert item.insert_text_format == lsp.InsertTextFormat.PlainText


def test_label_of_a_suggestion_that_starts_on_the_next_line() -> None:
    s = Suggestion(text="\n    return 1", line=0, character=9, word_start=9, word="")
    assert completion_list(s).items[0].label == "return 1"


def test_snippet_clients_get_an_escaped_snippet_that_expands_to_the_same_text() -> None:
    s = Suggestion(text='f"${x}" + a\\b}', line=0, character=2, word_start=0, word="ab")
    item = completion_list(s, snippet=True).items[0]
    assert item.insert_text_format == lsp.InsertTextFormat.Snippet
    assert isinstance(item.text_edit, lsp.TextEdit)
    assert item.text_edit.new_text == 'abf"\\${x\\}" + a\\\\b\\}'
    assert unescape(item.text_edit.new_text) == "ab" + s.text


def unescape(snippet: str) -> str:
    """What a snippet engine inserts for a snippet without tabstops or placeholders."""
    out, i = [], 0
    while i < len(snippet):
        if snippet[i] == "\\" and i + 1 < len(snippet) and snippet[i + 1] in "\\$}":
            i += 1
        out.append(snippet[i])
        i += 1
    return "".join(out)


def test_a_suggestion_that_replaces_closers_extends_both_items_over_them() -> None:
    s = Suggestion(text="a, b)", line=2, character=6, word_start=6, word="", end=7)
    inline = inline_list(s).items[0]
    assert inline.range == lsp.Range(lsp.Position(2, 6), lsp.Position(2, 7))
    item = completion_list(s).items[0]
    assert isinstance(item.text_edit, lsp.TextEdit)
    assert item.text_edit.range == lsp.Range(lsp.Position(2, 6), lsp.Position(2, 7))
    assert item.text_edit.new_text == "a, b)"
