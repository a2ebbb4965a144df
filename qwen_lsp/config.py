"""Settings: schema, defaults, validation (beside the pipeline; every stage reads a `Settings`).

The client sends settings as a flat camelCase object, in ``initializationOptions`` and again in
``workspace/didChangeConfiguration`` (as ``settings`` or ``settings["qwen-lsp"]``).
:func:`parse_settings` turns that object into a frozen :class:`Settings`; a bad value is
reported and the previous value is kept, so a typo never takes completions down.

The schema lives in one place, :data:`FIELDS`; the README's settings table is generated from it
(``python -m qwen_lsp.config``) and a test keeps the two in step.
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit

from .debounce import DebounceMode

DEFAULT_BASE_URL = "https://dashscope.aliyuncs.com/compatible-mode/v1"
DEFAULT_MODEL = "qwen2.5-coder-32b-instruct"
ENV_API_KEY = "DASHSCOPE_API_KEY"
ENV_BASE_URL = "DASHSCOPE_BASE_URL"

Mode = Literal["auto", "fim", "chat"]
SpeculateMode = Literal["off", "stream", "request"]  # see qwen_lsp.speculation

#: Files that hold secrets; never indexed nor shown to the model (gitignore syntax, any folder).
DEFAULT_EXCLUDE_GLOBS: tuple[str, ...] = (
    ".env",
    ".env.*",
    "*.pem",
    "*.key",
    "*.p12",
    "*.pfx",
    "*.keystore",
    "*.jks",
    "id_rsa*",
    "id_dsa*",
    "id_ecdsa*",
    "id_ed25519*",
    ".netrc",
    ".npmrc",
    ".pypirc",
    "*.secret",
    "secrets.*",
    "credentials*",
)


@dataclass(frozen=True, slots=True)
class Settings:
    """Every setting qwen-lsp reads, validated. Field names are the snake_case of the keys."""

    api_key: str | None = None
    base_url: str = DEFAULT_BASE_URL
    model: str = DEFAULT_MODEL
    mode: Mode = "auto"
    fim_suffix_field: bool = False
    enabled: bool = True
    stream: bool = True
    debounce_ms: int = 150
    debounce: DebounceMode = "adaptive"
    max_tokens: int = 256
    temperature: float = 0.2
    timeout_ms: int = 5000
    stop: tuple[str, ...] = ()
    max_prefix_tokens: int = 2048
    max_suffix_tokens: int = 512
    max_repo_tokens: int = 1024
    max_in_flight: int = 0
    speculate: SpeculateMode = "request"
    index_enabled: bool = True
    index_max_files: int = 5000
    index_max_file_bytes: int = 512 * 1024
    index_max_total_bytes: int = 64 * 1024 * 1024
    exclude_globs: tuple[str, ...] = DEFAULT_EXCLUDE_GLOBS

    @property
    def uses_fim(self) -> bool:
        """True when requests go to the FIM ``/completions`` endpoint, False for chat."""
        if self.mode != "auto":
            return self.mode == "fim"
        from .backend.families import fim_by_default  # the routing rules live with the servers

        return fim_by_default(self.model, self.base_url)

    @property
    def is_local(self) -> bool:
        """True when ``baseUrl`` points at this machine (a local server needs no key)."""
        host = urlsplit(self.base_url).hostname or ""
        return host in {"localhost", "::1"} or host.startswith("127.")

    def redacted(self) -> dict[str, Any]:
        """The settings as the client spells them, with the API key masked (for logs)."""
        out = {f.key: getattr(self, f.name) for f in FIELDS}
        out["apiKey"] = "<set>" if self.api_key else None
        return out


class SettingError(ValueError):
    """A setting's value was rejected; the message is meant for the user."""


@dataclass(frozen=True, slots=True)
class Field:
    """One setting: its client key, its `Settings` attribute, its converter and its docs."""

    key: str
    name: str
    convert: Callable[[Any], Any]
    type_doc: str
    doc: str
    default_doc: str = ""


def _expect(cond: bool, message: str) -> None:
    if not cond:
        raise SettingError(message)


def _string(allow_empty: bool = False) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        _expect(isinstance(value, str), "must be a string")
        _expect(allow_empty or bool(value.strip()), "must not be empty")
        return str(value).strip()

    return convert


def _optional_key(value: Any) -> str | None:
    if value is None or value == "":
        return None
    _expect(isinstance(value, str), "must be a string")
    _expect(not any(c.isspace() for c in value.strip()), "must not contain spaces")
    return str(value).strip()


def _url(value: Any) -> str:
    url = _string()(value).rstrip("/")
    parts = urlsplit(url)
    _expect(parts.scheme in {"http", "https"} and bool(parts.netloc), "must be an http(s) URL")
    return url


def _choice(*choices: str) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        _expect(value in choices, "must be one of " + ", ".join(repr(c) for c in choices))
        return str(value)

    return convert


def _boolean(value: Any) -> bool:
    _expect(isinstance(value, bool), "must be true or false")
    return bool(value)


def _integer(low: int, high: int) -> Callable[[Any], int]:
    def convert(value: Any) -> int:
        is_int = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        _expect(is_int and not isinstance(value, bool), "must be a whole number")
        _expect(low <= value <= high, f"must be between {low} and {high}")
        return int(value)

    return convert


def _number(low: float, high: float) -> Callable[[Any], float]:
    def convert(value: Any) -> float:
        _expect(isinstance(value, int | float) and not isinstance(value, bool), "must be a number")
        _expect(math.isfinite(value) and low <= value < high, f"must be in [{low}, {high})")
        return float(value)

    return convert


def _stop(value: Any) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    _expect(isinstance(value, list), "must be a list of strings")
    _expect(all(isinstance(s, str) and s for s in value), "must hold non-empty strings only")
    _expect(len(value) <= 16, "must hold at most 16 strings")
    return tuple(value)


def _globs(value: Any) -> tuple[str, ...]:
    _expect(isinstance(value, list), "must be a list of strings")
    _expect(
        all(isinstance(s, str) and s.strip() for s in value), "must hold non-empty strings only"
    )
    _expect(len(value) <= 500, "must hold at most 500 patterns")
    return tuple(s.strip() for s in value)


FIELDS: tuple[Field, ...] = (
    Field(
        "apiKey",
        "api_key",
        _optional_key,
        "string",
        "Model Studio (DashScope) API key. Sent only to `baseUrl`, never logged. "
        "Not needed for a server on 127.0.0.1/localhost.",
        f"env `{ENV_API_KEY}`",
    ),
    Field(
        "baseUrl",
        "base_url",
        _url,
        "string",
        "OpenAI-compatible base URL: a DashScope region, or a local vLLM, llama.cpp, Ollama "
        "or LM Studio server (`http://127.0.0.1:8000/v1`); see Backends.",
        f"env `{ENV_BASE_URL}`, else `{DEFAULT_BASE_URL}`",
    ),
    Field("model", "model", _string(), "string", "Model name as the backend knows it."),
    Field(
        "mode",
        "mode",
        _choice("auto", "fim", "chat"),
        '`"auto"` \\| `"fim"` \\| `"chat"`',
        "`fim`: fill-in-the-middle on `/completions`; `chat`: partial mode on "
        "`/chat/completions`; `auto`: `fim` for Qwen2.5-Coder, Qwen3-Coder (not on DashScope) "
        "and `qwen-coder-turbo` in any server's spelling, on servers that serve `/completions` "
        "(DashScope: Beijing only; a 404 of the endpoint switches to `chat` once), `chat` for "
        "every other model.",
    ),
    Field(
        "fimSuffixField",
        "fim_suffix_field",
        _boolean,
        "boolean",
        "Send FIM as `prompt` + `suffix` fields instead of Qwen's FIM tokens in `prompt` "
        "(Ollama's `/v1/completions` wants this; DashScope, vLLM and llama.cpp do not).",
    ),
    Field("enabled", "enabled", _boolean, "boolean", "Offer completions at all."),
    Field(
        "stream",
        "stream",
        _boolean,
        "boolean",
        "Ask for a server-sent-event stream (lets the server stop reading early).",
    ),
    Field(
        "debounceMs",
        "debounce_ms",
        _integer(0, 5000),
        "integer",
        "Quiet time after the last keystroke before asking the model (in `adaptive` mode, "
        "the longest). Explicitly invoked completions skip it.",
    ),
    Field(
        "debounce",
        "debounce",
        _choice("adaptive", "fixed"),
        '`"adaptive"` \\| `"fixed"`',
        "`fixed`: always wait `debounceMs`; `adaptive`: learn the typing rhythm and wait less "
        "where a pause is likely (none after Enter, a trigger character such as `.` `(` `,` or "
        "a first space at the end of a line; less after a hesitation), up to `debounceMs` in a "
        "fast burst.",
    ),
    Field(
        "maxTokens",
        "max_tokens",
        _integer(1, 8192),
        "integer",
        "Most tokens the model may generate for one completion.",
    ),
    Field(
        "temperature",
        "temperature",
        _number(0.0, 2.0),
        "number",
        "Sampling temperature, `0 <= t < 2`.",
    ),
    Field(
        "timeoutMs",
        "timeout_ms",
        _integer(100, 120_000),
        "integer",
        "Give up on a backend request after this long; the editor gets the complete lines that "
        "had arrived, else an empty answer.",
    ),
    Field(
        "stop",
        "stop",
        _stop,
        "string[]",
        "Extra stop strings, sent besides Qwen's own FIM stop tokens.",
    ),
    Field(
        "maxPrefixTokens",
        "max_prefix_tokens",
        _integer(16, 131_072),
        "integer",
        "Budget for the text before the cursor (cut at line boundaries).",
    ),
    Field(
        "maxSuffixTokens",
        "max_suffix_tokens",
        _integer(0, 131_072),
        "integer",
        "Budget for the text after the cursor (cut at line boundaries).",
    ),
    Field(
        "maxRepoTokens",
        "max_repo_tokens",
        _integer(0, 131_072),
        "integer",
        "Budget for snippets of other files in the prompt (0 turns them off).",
    ),
    Field(
        "maxInFlight",
        "max_in_flight",
        _integer(0, 64),
        "integer",
        "Most completion requests in flight to the server at once; `0`: one for a server on "
        "this machine (which would interrupt or queue them), no limit otherwise.",
    ),
    Field(
        "speculate",
        "speculate",
        _choice("off", "stream", "request"),
        '`"off"` \\| `"stream"` \\| `"request"`',
        "Prepare the suggestion that follows a shown one, for when it is accepted whole "
        "(Tab): `stream` keeps what the model's reply holds past the suggestion (read on up "
        "to its next cut point; no extra request; FIM replies); `request` also asks the "
        "model for the accepted state when the reply holds nothing more (while you accept "
        "one of every 8 suggestions or more; never to a server with one place; cancelled by an "
        "edit it cannot serve); "
        "`off`: neither.",
    ),
    Field(
        "indexEnabled",
        "index_enabled",
        _boolean,
        "boolean",
        "Index the workspace folders on disk (definitions, imports) in the background, so "
        "definitions of files that are not open can reach the prompt.",
    ),
    Field(
        "indexMaxFiles",
        "index_max_files",
        _integer(0, 1_000_000),
        "integer",
        "Most files indexed (source files with a tree-sitter grammar, breadth-first).",
    ),
    Field(
        "indexMaxFileBytes",
        "index_max_file_bytes",
        _integer(1024, 64 * 1024 * 1024),
        "integer",
        "Larger files are not indexed (generated or minified code).",
    ),
    Field(
        "indexMaxTotalBytes",
        "index_max_total_bytes",
        _integer(0, 16 * 1024 * 1024 * 1024),
        "integer",
        "Indexing stops after reading this many bytes of source.",
    ),
    Field(
        "excludeGlobs",
        "exclude_globs",
        _globs,
        "string[]",
        "Files never indexed nor shown to the model, in `.gitignore` syntax (relative to the "
        "workspace folder; a pattern without `/` matches in any folder). Replaces the default, "
        "which lists secrets: "
        + ", ".join(f"`{g}`" for g in DEFAULT_EXCLUDE_GLOBS)
        + ". `.gitignore` files, `node_modules`, virtual environments and build folders are "
        "always skipped, and so are symlinks that lead out of the workspace.",
        "secrets (see meaning)",
    ),
)

_BY_KEY = {f.key: f for f in FIELDS}


def defaults(env: Mapping[str, str] | None = None) -> Settings:
    """The settings before the client says anything: built-in defaults plus the environment."""
    env = os.environ if env is None else env
    base = Settings()
    changes: dict[str, Any] = {}
    if key := env.get(ENV_API_KEY, "").strip():
        changes["api_key"] = key
    if url := env.get(ENV_BASE_URL, "").strip():
        with contextlib.suppress(SettingError):  # not a URL: the built-in default stays
            changes["base_url"] = _url(url)
    return dataclasses.replace(base, **changes)


def unwrap(settings: Any) -> Any:
    """The qwen-lsp object inside a didChangeConfiguration ``settings`` payload."""
    if isinstance(settings, Mapping) and isinstance(settings.get("qwen-lsp"), Mapping):
        return settings["qwen-lsp"]
    return settings


def parse_settings(raw: Any, previous: Settings) -> tuple[Settings, list[str]]:
    """Apply a client settings object on top of ``previous``.

    Returns the new settings and one message per rejected or unknown key; a rejected key keeps
    its previous value. ``null`` resets a key to its default (for ``apiKey``: the environment).
    """
    if raw is None:
        return previous, []
    if not isinstance(raw, Mapping):
        return previous, [f"qwen-lsp settings must be an object, got {type(raw).__name__}"]
    changes: dict[str, Any] = {}
    errors: list[str] = []
    base = defaults()
    for key, value in raw.items():
        spec = _BY_KEY.get(key)
        if spec is None:
            errors.append(f"qwen-lsp: unknown setting {key!r} ignored")
            continue
        if value is None:
            changes[spec.name] = getattr(base, spec.name)
            continue
        try:
            changes[spec.name] = spec.convert(value)
        except SettingError as exc:
            shown = "<hidden>" if spec.key == "apiKey" else _short(value)
            errors.append(f"qwen-lsp: setting {key!r} {exc} (got {shown}); kept the old value")
    return dataclasses.replace(previous, **changes), errors


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def markdown_table() -> str:
    """The README's settings table."""
    base = Settings()
    rows = ["| key | type | default | meaning |", "|---|---|---|---|"]
    for f in FIELDS:
        default = f.default_doc or _literal(getattr(base, f.name))
        rows.append(f"| `{f.key}` | {f.type_doc} | {default} | {f.doc} |")
    return "\n".join(rows)


def _literal(value: Any) -> str:
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, tuple):
        return "`[]`" if not value else f"`{list(value)}`"
    if isinstance(value, str):
        return f'`"{value}"`'
    return f"`{value}`"


def update_readme(path: str) -> None:
    """Rewrite the table between the README's ``<!-- settings -->`` markers."""
    begin, end = "<!-- settings:begin -->\n", "<!-- settings:end -->"
    with open(path, encoding="utf-8") as f:
        text = f.read()
    head, _, rest = text.partition(begin)
    _, _, tail = rest.partition(end)
    with open(path, "w", encoding="utf-8") as f:
        f.write(head + begin + markdown_table() + "\n" + end + tail)


if __name__ == "__main__":
    import sys

    if len(sys.argv) > 1:
        update_readme(sys.argv[1])
    else:
        print(markdown_table())
