"""End to end: repository context from the workspace on disk, through the real server.

The server indexes a temporary workspace folder after ``initialized`` (with work-done progress),
and the prompt the fake backend receives shows definitions of files that were never opened;
excluded files and symlinks out of the workspace never reach it; the index follows watched-file
events; a request made while the index is being built is answered without waiting for it.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest_asyncio
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.e2e.conftest import SERVER, Session, completions, server_env, until
from tests.support.fake_qwen import FakeQwen, Reply

GEOMETRY = '''"""Shapes."""

PI = 3.14159


def area_of_circle(radius):
    """The area of a circle of this radius."""
    return PI * radius * radius


class Polygon:
    def perimeter_of(self, sides):
        return sum(sides)
'''

APP = """from shapes import geometry


def report(r):
    return geometry.are
"""


class Workspace:
    """A running server on a workspace folder, its client, and what the client received."""

    def __init__(self, session: Session, folder: Path) -> None:
        self.session = session
        self.folder = folder
        self.registrations: list[lsp.Registration] = []

    @property
    def client(self) -> LanguageClient:
        return self.session.client

    def open(self, rel: str, text: str | None = None) -> str:
        path = self.folder / rel
        uri = path.as_uri()
        body = path.read_text() if text is None else text
        self.client.text_document_did_open(
            lsp.DidOpenTextDocumentParams(
                lsp.TextDocumentItem(uri=uri, language_id="python", version=1, text=body)
            )
        )
        return uri

    def progress(self) -> list[Any]:
        return [v for values in self.client.progress_reports.values() for v in values]

    def indexed(self) -> bool:
        return any(isinstance(v, lsp.WorkDoneProgressEnd) for v in self.progress())

    async def prompt_at(self, uri: str, line: int, character: int) -> str:
        """The prompt a request here sends (the last one sent, when the answer cache answers:
        the cache is keyed by the request, so that prompt is this one)."""
        await self.session.inline(uri, line, character, invoked=True)
        posts = completions(self.session.fake)
        assert posts, "no backend request"
        return str(posts[-1].body["prompt"])


Opener = Callable[..., Awaitable[Workspace]]


@pytest_asyncio.fixture
async def workspace(fake: FakeQwen, tmp_path: Path) -> AsyncIterator[Opener]:
    started: list[Workspace] = []
    fake.default = Reply(text="x")

    async def _start(folder: Path, *, wait: bool = True, **settings: Any) -> Workspace:
        config = ClientServerConfig(
            server_command=[*SERVER, "--log-file", str(tmp_path / f"server{len(started)}.log")],
            server_env=server_env(),
        )
        client = await config.start()
        assert isinstance(client, LanguageClient)
        registrations: list[lsp.Registration] = []

        @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
        def register(params: lsp.RegistrationParams) -> None:
            registrations.extend(params.registrations)

        capabilities = lsp.ClientCapabilities(
            text_document=lsp.TextDocumentClientCapabilities(
                inline_completion=lsp.InlineCompletionClientCapabilities()
            ),
            window=lsp.WindowClientCapabilities(work_done_progress=True),
            workspace=lsp.WorkspaceClientCapabilities(
                did_change_watched_files=lsp.DidChangeWatchedFilesClientCapabilities(
                    dynamic_registration=True
                )
            ),
        )
        result = await client.initialize_session(
            lsp.InitializeParams(
                capabilities=capabilities,
                initialization_options={"debounceMs": 0, "baseUrl": fake.base_url, **settings},
                root_uri=folder.as_uri(),
                workspace_folders=[lsp.WorkspaceFolder(uri=folder.as_uri(), name=folder.name)],
            )
        )
        ws = Workspace(Session(client, fake, tmp_path / "server.log", result), folder)
        ws.registrations = registrations
        started.append(ws)
        if wait:
            assert await until(ws.indexed, 60), "indexing never ended"
        return ws

    yield _start
    for ws in started:
        try:
            async with asyncio.timeout(10):
                await ws.client.shutdown_session()
        finally:
            await ws.client.stop()


def write(folder: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


async def test_a_definition_on_disk_reaches_the_prompt(workspace: Opener, tmp_path: Path) -> None:
    folder = write(
        tmp_path / "proj",
        {"shapes/__init__.py": "", "shapes/geometry.py": GEOMETRY, "shapes/app.py": APP},
    )
    ws = await workspace(folder)
    uri = ws.open("shapes/app.py")  # geometry.py is never opened
    prompt = await ws.prompt_at(uri, 4, len("    return geometry.are"))
    assert "<|repo_name|>proj\n" in prompt
    assert "<|file_sep|>shapes/geometry.py\n" in prompt
    assert 'def area_of_circle(radius):\n    """The area of a circle of this radius."""' in prompt
    assert prompt.index("shapes/geometry.py") < prompt.index("<|file_sep|>shapes/app.py")

    # Work-done progress: begin, "indexing n/m files" reports, end.
    values = ws.progress()
    assert isinstance(values[0], lsp.WorkDoneProgressBegin)
    reports = [v.message for v in values if isinstance(v, lsp.WorkDoneProgressReport)]
    assert reports and reports[-1] == "indexing 3/3 files"
    assert isinstance(values[-1], lsp.WorkDoneProgressEnd)
    # The file watcher was registered with the client.
    assert [r.method for r in ws.registrations] == [lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES]


async def test_watched_file_events_update_the_index(workspace: Opener, tmp_path: Path) -> None:
    folder = write(tmp_path / "proj", {"shapes/__init__.py": "", "shapes/app.py": APP})
    ws = await workspace(folder)
    uri = ws.open("shapes/app.py")
    assert "def area_of_circle" not in await ws.prompt_at(uri, 4, 23)
    write(folder, {"shapes/geometry.py": GEOMETRY})
    ws.client.workspace_did_change_watched_files(
        lsp.DidChangeWatchedFilesParams(
            [lsp.FileEvent((folder / "shapes/geometry.py").as_uri(), lsp.FileChangeType.Created)]
        )
    )

    # Each try edits the document first, so the answer is not the one already shown.
    line = "def report(r):"
    for version in range(2, 200):
        new = f"def report{version}(r):"
        ws.session.edit(uri, version, new, (3, 0, 3, len(line)))
        line = new
        if "def area_of_circle" in await ws.prompt_at(uri, 4, 23):
            break
        await asyncio.sleep(0.05)
    else:
        raise AssertionError("the new file never reached the prompt")


async def test_excluded_files_never_reach_the_prompt(workspace: Opener, tmp_path: Path) -> None:
    secret = "def load_secret_token():\n    return 'sk-live-123'\n"
    helper = "def load_settings():\n    return {}\n"
    folder = write(
        tmp_path / "proj",
        {
            "conf/secrets.py": secret,  # excluded by the default excludeGlobs
            "conf/private_keys.py": secret.replace("secret", "private"),  # by the setting below
            "conf/loader.py": helper,
            "main.py": "from conf.secrets import load_secret_token\n"
            "from conf.private_keys import load_private_token\n"
            "from conf.loader import load_settings\n\nvalue = load_\n",
        },
    )
    ws = await workspace(folder, excludeGlobs=["secrets.*", "private_*"])
    ws.open("conf/secrets.py")  # even open, an excluded file lends nothing
    uri = ws.open("main.py")
    prompt = await ws.prompt_at(uri, 4, len("value = load_"))
    assert "def load_settings():" in prompt  # the same kind of definition, not excluded
    assert "sk-live-123" not in prompt and "load_secret_token():" not in prompt
    assert "load_private_token():" not in prompt


async def test_symlinks_out_of_the_workspace_are_ignored(workspace: Opener, tmp_path: Path) -> None:
    outside = write(tmp_path / "outside", {"leak.py": "def leaked_helper():\n    return 1\n"})
    folder = write(
        tmp_path / "proj",
        {
            "inside.py": "def leaked_nothing():\n    return 2\n",
            "main.py": "value = leak\n",
        },
    )
    (folder / "linked_dir").symlink_to(outside, target_is_directory=True)
    (folder / "linked_file.py").symlink_to(outside / "leak.py")
    ws = await workspace(folder)
    uri = ws.open("main.py")
    prompt = await ws.prompt_at(uri, 0, len("value = leak"))
    assert "def leaked_nothing():" in prompt  # inside the workspace: shown
    assert "leaked_helper" not in prompt


async def test_a_request_while_indexing_is_answered_without_waiting(
    workspace: Opener, tmp_path: Path
) -> None:
    body = "".join(
        f"def helper_{i}(value):\n    '''Doc {i}.'''\n    return value + {i}\n\n\n"
        for i in range(60)
    )
    files = {f"pkg{i // 100}/mod{i}.py": body for i in range(900)}
    files["main.py"] = "from pkg0 import mod1\n\nresult = mod1.hel\n"
    folder = write(tmp_path / "proj", files)
    ws = await workspace(folder, wait=False)
    uri = ws.open("main.py")
    started = time.monotonic()
    during: list[float] = []
    answered_before_end = 0
    while not ws.indexed() and len(during) < 10:
        t = time.monotonic()
        await ws.session.inline(uri, 2, len("result = mod1.hel"), invoked=True)
        during.append(time.monotonic() - t)
        answered_before_end += not ws.indexed()
    assert await until(ws.indexed, 120)
    build = time.monotonic() - started
    after: list[float] = []
    for _ in range(5):
        t = time.monotonic()
        await ws.session.inline(uri, 2, len("result = mod1.hel"), invoked=True)
        after.append(time.monotonic() - t)
    assert answered_before_end >= 3, "the index was built before requests could be measured"
    # Relative figures only: a request does not wait for the index (which took `build`), and
    # costs at most a few times what it costs on an idle server.
    assert statistics.median(during) < build / 4
    assert statistics.median(during) < 10 * statistics.median(after) + 0.05 * build
