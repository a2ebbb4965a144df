"""Workspace roots: which documents are inside the workspace, and their paths as prompts show them.

Pure: folder paths in, answers out. A document outside every root lends nothing to prompts and is
never indexed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from urllib.parse import quote, unquote, urlsplit


def uri_to_path(uri: str) -> str | None:
    """The file-system path of a ``file:`` URI, or ``None`` for any other scheme."""
    parts = urlsplit(uri)
    if parts.scheme != "file":
        return None
    return unquote(parts.path)


def path_to_uri(path: str) -> str:
    return "file://" + quote(path)


class Roots:
    """The workspace folders (absolute paths, without trailing slashes)."""

    def __init__(self, folders: Iterable[str] = ()) -> None:
        self.folders: tuple[str, ...] = ()
        self.set(folders)

    def set(self, folders: Iterable[str]) -> bool:
        """Replace the folders; True when they changed. Nested folders keep the outer one."""
        cleaned = sorted({f.rstrip("/") or "/" for f in folders if f})
        outer = [f for f in cleaned if not any(_inside(f, o) for o in cleaned if o != f)]
        new = tuple(outer)
        changed = new != self.folders
        self.folders = new
        return changed

    def root_of_path(self, path: str) -> str | None:
        return next((r for r in self.folders if _inside(path, r)), None)

    def root_of(self, uri: str) -> str | None:
        """The folder a document is in, or ``None`` (outside the workspace, or not a file)."""
        path = uri_to_path(uri)
        return None if path is None else self.root_of_path(path)

    def relative(self, path: str) -> str:
        """``path`` relative to its folder; the file name alone when it is outside them."""
        root = self.root_of_path(path)
        if root is not None:
            return path[len(root.rstrip("/")) + 1 :]
        return path.rsplit("/", 1)[-1]

    def relative_path(self, uri: str) -> str:
        """The document's path relative to its workspace folder (as the prompt shows it)."""
        return self.relative(uri_to_path(uri) or unquote(urlsplit(uri).path))

    def contains_real(self, path: str) -> bool:
        """Whether ``path`` with every symlink resolved is still inside a folder."""
        real = os.path.realpath(path)
        return any(_inside(real, os.path.realpath(r)) for r in self.folders)


def _inside(path: str, root: str) -> bool:
    return path.startswith(root.rstrip("/") + "/")
