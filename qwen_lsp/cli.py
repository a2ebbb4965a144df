"""Command line: ``qwen-lsp`` (the server, stdio or TCP) and ``qwen-lsp complete FILE:LINE:COL``.

``complete`` runs the whole pipeline once, exactly as an editor's request would, and prints the
completion: the quickest way to check a key, a region or a local server without an editor.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import Any

from lsprotocol.types import MessageType

from . import __version__, redact
from .config import ENV_API_KEY, ENV_BASE_URL, Settings, defaults, parse_settings
from .documents import PositionEncoding

EXIT_NO_COMPLETION = 1
EXIT_USAGE = 2


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _setup_logging(args.log_file, args.log_level)
    if args.command == "complete":
        return _complete(args)
    from .server import create_server  # pygls is only needed for serving

    server = create_server()
    if args.tcp:
        server.start_tcp(args.host, args.port)
    else:
        server.start_io()
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="qwen-lsp",
        description="Code completion from Qwen models over the Language Server Protocol. "
        "Without a command it serves LSP on stdin/stdout.",
    )
    parser.add_argument("--version", action="version", version=f"qwen-lsp {__version__}")
    parser.add_argument("--tcp", action="store_true", help="serve LSP over TCP, not stdio")
    parser.add_argument("--host", default="127.0.0.1", help="TCP host (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=2087, help="TCP port (default 2087)")
    parser.add_argument("--log-file", help="write the log here (default: standard error)")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        type=str.upper,
        choices=["DEBUG", "INFO", "WARNING", "ERROR"],
        help="log level (default WARNING)",
    )
    commands = parser.add_subparsers(dest="command")
    complete = commands.add_parser(
        "complete",
        help="print the completion at FILE:LINE:COL (1-based line and column)",
        description="Run one completion at FILE:LINE:COL (1-based; COL counts characters) and "
        f"print it. Settings come from {ENV_API_KEY}, {ENV_BASE_URL} and the options below.",
    )
    complete.add_argument("location", metavar="FILE:LINE:COL")
    complete.add_argument("--model", help="model name")
    complete.add_argument("--mode", choices=["auto", "fim", "chat"], help="request shape")
    complete.add_argument("--base-url", help="OpenAI-compatible base URL")
    complete.add_argument("--max-tokens", type=int, help="most tokens to generate")
    complete.add_argument("--no-stream", action="store_true", help="ask for one JSON answer")
    return parser


def _setup_logging(path: str | None, level: str) -> None:
    handler: logging.Handler = (
        logging.FileHandler(path, encoding="utf-8") if path else logging.StreamHandler(sys.stderr)
    )
    handler.addFilter(redact.RedactingFilter())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":  # pygls logs every message it sends at INFO
        logging.getLogger("pygls").setLevel(max(logging.WARNING, root.level))
        logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))


class _ConsoleNotifier:
    """Shows the engine's messages on standard error."""

    def show(self, level: MessageType, text: str) -> None:
        print(redact.scrub(text), file=sys.stderr)

    def log(self, level: MessageType, text: str) -> None:
        logging.getLogger("qwen_lsp").log(_LEVELS.get(level, logging.INFO), "%s", text)

    def status(self, state: str, message: str) -> None:
        pass


_LEVELS = {
    MessageType.Error: logging.ERROR,
    MessageType.Warning: logging.WARNING,
    MessageType.Info: logging.INFO,
    MessageType.Log: logging.DEBUG,
}


def _fail(message: str, code: int) -> int:
    print(f"qwen-lsp: {message}", file=sys.stderr)
    return code


def _complete(args: argparse.Namespace) -> int:
    try:
        path, line, column = _location(args.location)
    except ValueError as exc:
        return _fail(str(exc), EXIT_USAGE)
    overrides: dict[str, Any] = {
        "model": args.model,
        "mode": args.mode,
        "baseUrl": args.base_url,
        "maxTokens": args.max_tokens,
        "stream": False if args.no_stream else None,
    }
    settings, errors = parse_settings(
        {k: v for k, v in overrides.items() if v is not None}, defaults()
    )
    if errors:
        return _fail("; ".join(errors), EXIT_USAGE)
    if not settings.api_key and not settings.is_local:
        return _fail(
            f"no API key: set {ENV_API_KEY} (a Model Studio key), or point {ENV_BASE_URL} or "
            "--base-url at a local server such as http://127.0.0.1:8000/v1",
            EXIT_USAGE,
        )
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        return _fail(f"cannot read {path}: {exc}", EXIT_USAGE)
    notifier = _ConsoleNotifier()
    document = (path.resolve().as_uri(), _language(path), text)
    result = asyncio.run(_run_once(settings, notifier, document, line, column))
    if result is None:
        return _fail("no completion at that position", EXIT_NO_COMPLETION)
    sys.stdout.write(result + "\n")
    return 0


async def _run_once(
    settings: Settings,
    notifier: _ConsoleNotifier,
    document: tuple[str, str, str],
    line: int,
    column: int,
) -> str | None:
    from .engine import Engine  # the server imports it after `initialize` (see server.py)
    from .tokens import counter_for

    uri, language, text = document
    engine = Engine(
        notifier,
        settings=dataclasses.replace(settings, debounce_ms=0),
        count=counter_for(settings.model),
    )
    engine.documents.encoding = PositionEncoding.UTF32  # COL counts characters
    engine.set_roots([os.getcwd()])
    engine.open_document(uri, text, 1, language)
    try:
        found = await engine.suggest(uri, line - 1, column - 1, invoked=True)
    finally:
        await engine.aclose()
    return found.text if found else None


def _location(value: str) -> tuple[Path, int, int]:
    try:
        file, line, column = value.rsplit(":", 2)
        position = int(line), int(column)
    except ValueError:
        raise ValueError(f"expected FILE:LINE:COL, got {value!r}") from None
    if min(position) < 1:
        raise ValueError("LINE and COL start at 1")
    return Path(file), *position


_LANGUAGES = {
    ".py": "python",
    ".js": "javascript",
    ".ts": "typescript",
    ".tsx": "typescriptreact",
    ".go": "go",
    ".rs": "rust",
    ".java": "java",
    ".c": "c",
    ".h": "c",
    ".cpp": "cpp",
    ".cs": "csharp",
    ".rb": "ruby",
    ".php": "php",
    ".lua": "lua",
    ".sh": "shellscript",
    ".kt": "kotlin",
    ".swift": "swift",
    ".scala": "scala",
    ".el": "emacs-lisp",
}


def _language(path: Path) -> str:
    return _LANGUAGES.get(path.suffix.lower(), path.suffix.lstrip("."))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
