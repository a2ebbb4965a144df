"""The pygls baseline: a language server that only keeps documents, in pygls' ``TextDocument``.

pygls' ``LanguageServer`` applies every ``didOpen`` / ``didChange`` to its workspace by itself;
this server adds nothing, so timing a ``didChange`` here measures pygls' default document model
behind the same JSON-RPC transport qwen-lsp uses. Run as ``python -m benchmarks.baseline_server``.
"""

from __future__ import annotations

from pygls.lsp.server import LanguageServer


def main() -> None:
    """Serve over stdio until the client says exit."""
    LanguageServer("pygls-baseline", "1").start_io()


if __name__ == "__main__":
    main()
