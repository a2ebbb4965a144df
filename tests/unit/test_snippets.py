"""snippets: the most relevant window of other files, within budget, best last."""

from __future__ import annotations

from qwen_lsp.documents import split_lines
from qwen_lsp.snippets import SnippetIndex, Source, select_snippets
from qwen_lsp.tokens import estimate_tokens

FILLER = "".join(f"unrelated_{i} = {i}\n" for i in range(60))
GEOMETRY = FILLER + "def area_of_circle(radius):\n    return PI * radius * radius\n" + FILLER
NAMES = "def greet(person_name):\n    return 'hello ' + person_name\n"


def source(uri: str, text: str, version: int = 1) -> Source:
    return Source((uri, version), uri.rsplit("/", 1)[-1], split_lines(text))


def test_picks_the_window_that_shares_identifiers_with_the_cursor() -> None:
    query = "radius = read()\nprint(area_of_circle(radius))\n"
    chosen = select_snippets(
        query,
        [source("f:///geo.py", GEOMETRY), source("f:///n.py", NAMES)],
        budget=400,
        count=estimate_tokens,
        index=SnippetIndex(),
    )
    assert [s.path for s in chosen] == ["geo.py"]
    assert "def area_of_circle(radius)" in chosen[0].text
    assert len(chosen[0].text.splitlines()) <= 24


def test_best_goes_last_and_the_budget_holds() -> None:
    query = "area_of_circle radius person_name greet hello"
    sources = [source("f:///geo.py", GEOMETRY), source("f:///n.py", NAMES)]
    both = select_snippets(query, sources, budget=1000, count=estimate_tokens, index=SnippetIndex())
    assert [s.path for s in both] == ["geo.py", "n.py"]  # names matches more: nearest the file
    one = select_snippets(query, sources, budget=40, count=estimate_tokens, index=SnippetIndex())
    assert [s.path for s in one] == ["n.py"]
    assert (
        select_snippets(query, sources, budget=0, count=estimate_tokens, index=SnippetIndex()) == ()
    )


def test_windows_are_cached_per_version() -> None:
    index = SnippetIndex()
    first = index.windows(source("f:///a.py", GEOMETRY))
    assert index.windows(source("f:///a.py", GEOMETRY)) is first
    assert index.windows(source("f:///a.py", NAMES, version=2)) is not first
