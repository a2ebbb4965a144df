"""documents: line splitting, position encodings, incremental edits."""

from __future__ import annotations

import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from qwen_lsp.documents import (
    Change,
    Document,
    DocumentStore,
    PositionEncoding,
    PositionError,
    column_to_index,
    index_to_column,
    split_lines,
)

U8, U16, U32 = PositionEncoding.UTF8, PositionEncoding.UTF16, PositionEncoding.UTF32


@pytest.mark.parametrize(
    ("text", "lines"),
    [
        ("", [""]),
        ("a", ["a"]),
        ("a\n", ["a\n", ""]),
        ("a\r\nb\rc\nd", ["a\r\n", "b\r", "c\n", "d"]),
        ("\r\n\r\n", ["\r\n", "\r\n", ""]),
        # Not line breaks in LSP, although str.splitlines() splits on every one of them.
        (
            "a\fb\vc\x1cd\x1de\x1ef\x85g\u2028h\u2029i",
            ["a\fb\vc\x1cd\x1de\x1ef\x85g\u2028h\u2029i"],
        ),
    ],
)
def test_split_lines_only_breaks_on_lsp_line_endings(text: str, lines: list[str]) -> None:
    assert split_lines(text) == lines
    assert "".join(split_lines(text)) == text


def test_form_feed_and_u2028_do_not_shift_positions() -> None:
    doc = Document("file:///a.py", "x = 1\f# page\u2028still line 0\ny = 2\n")
    assert doc.locate(1, 4) == (1, 4)
    doc.apply([Change("3", (1, 4, 1, 5))], version=2)
    assert doc.text == "x = 1\f# page\u2028still line 0\ny = 3\n"


@pytest.mark.parametrize(
    ("content", "column", "encoding", "index"),
    [
        ("abc", 2, U16, 2),
        ("a😀b", 1, U16, 1),
        ("a😀b", 3, U16, 2),  # 😀 is two UTF-16 units
        ("a😀b", 2, U16, 1),  # inside the surrogate pair: rounds down
        ("a😀b", 5, U8, 2),  # 😀 is four UTF-8 bytes
        ("a😀b", 3, U8, 1),  # inside the sequence: rounds down
        ("é=1", 2, U8, 1),
        ("a😀b", 2, U32, 2),
        ("abc", 99, U16, 3),  # past the end of the line: the end (LSP rule)
    ],
)
def test_column_to_index(content: str, column: int, encoding: PositionEncoding, index: int) -> None:
    assert column_to_index(content, column, encoding) == index


@pytest.mark.parametrize("encoding", list(PositionEncoding))
def test_index_to_column_round_trips(encoding: PositionEncoding) -> None:
    content = "x😀 é\u4e2d\U0001f600z"
    for index in range(len(content) + 1):
        column = index_to_column(content, index, encoding)
        assert column_to_index(content, column, encoding) == index


def test_locate_rejects_lines_past_the_end_and_negative_positions() -> None:
    doc = Document("u", "one\ntwo")
    with pytest.raises(PositionError):
        doc.locate(2, 0)
    with pytest.raises(PositionError):
        doc.locate(-1, 0)
    assert doc.locate(5, 0, clamp=True) == (1, 3)
    assert doc.locate(0, 99) == (0, 3)


def test_edit_joins_cr_and_lf_into_one_line_break() -> None:
    doc = Document("u", "a\rb")
    doc.apply([Change("\n", (1, 0, 1, 0))])  # "a\r" + "\n" + "b" -> one CRLF
    assert doc.lines == ["a\r\n", "b"]
    doc.apply([Change("", (0, 1, 1, 0))])  # delete the line break
    assert doc.lines == ["ab"]


def test_utf8_client_edits_after_multibyte_text() -> None:
    doc = Document("u", "s = 'ü'\n", encoding=U8)
    doc.apply([Change("ö", (0, 6, 0, 8))])  # 'ü' is bytes 5..7; replace it (with the quote)
    assert doc.text == "s = 'ö\n"


def test_full_replacement_and_version() -> None:
    doc = Document("u", "old", version=1)
    doc.apply([Change("new\ntext")], version=7)
    assert (doc.text, doc.version, len(doc.lines)) == ("new\ntext", 7, 2)


def test_store_ignores_changes_to_unopened_documents() -> None:
    store = DocumentStore()
    assert store.change("file:///nope", 2, [Change("x")]) is None
    store.open("file:///a", "a", 1, "python")
    assert store.change("file:///a", 2, [Change("b")]) is not None
    assert store.get("file:///a").text == "b"  # type: ignore[union-attr]
    assert store.close("file:///a") is not None
    assert len(store) == 0


# -- property: incremental edits agree with a whole-string reference ---------------------------


def _reference_offset(text: str, line: int, column: int, encoding: PositionEncoding) -> int:
    """Offset of an LSP position, computed on the whole string the slow, obvious way."""
    starts = [0] + [m.end() for m in re.finditer(r"\r\n|\r|\n", text)]
    if line >= len(starts):
        return len(text)
    start = starts[line]
    end = starts[line + 1] if line + 1 < len(starts) else len(text)
    content = re.sub(r"(\r\n|\r|\n)\Z", "", text[start:end])
    return start + column_to_index(content, column, encoding)


alphabet = st.sampled_from(["a", "b", " ", "\n", "\r", "\r\n", "\f", "\u2028", "😀", "é", "\t"])
texts = st.lists(alphabet, max_size=30).map("".join)


@settings(max_examples=300, deadline=None)
@given(
    text=texts,
    edits=st.lists(
        st.tuples(
            st.integers(0, 8), st.integers(0, 6), st.integers(0, 8), st.integers(0, 6), texts
        ),
        max_size=6,
    ),
    encoding=st.sampled_from(list(PositionEncoding)),
)
def test_incremental_edits_match_reference(
    text: str, edits: list[tuple[int, int, int, int, str]], encoding: PositionEncoding
) -> None:
    doc = Document("u", text, encoding=encoding)
    expected = text
    for sl, sc, el, ec, new in edits:
        a = _reference_offset(expected, sl, sc, encoding)
        b = _reference_offset(expected, el, ec, encoding)
        a, b = min(a, b), max(a, b)
        expected = expected[:a] + new + expected[b:]
        doc.apply([Change(new, (sl, sc, el, ec))])
        assert doc.text == expected
        assert doc.lines == split_lines(expected)
