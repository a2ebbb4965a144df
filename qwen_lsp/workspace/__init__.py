"""Workspace: what the repository can show the model (context → **workspace** → prompts).

The context stage cuts the current file around the cursor; this package answers the other half
of "what should the model see?": definitions and recent edits from the rest of the repository.
One module per idea:

* :mod:`.roots` -- the workspace folders, which URIs are inside them, paths as prompts show them;
* :mod:`.files` -- walking the folders on disk: ``.gitignore``, vendored and build folders,
  ``excludeGlobs``, symlink escapes, caps;
* :mod:`.symbols` -- definitions (name, kind, line range, rendered snippet) from tree-sitter tag
  queries;
* :mod:`.imports` -- a file's imports, and their resolution to workspace files;
* :mod:`.index` -- the index: built in a worker thread after ``initialized``, updated from saves,
  watched-file events and open-document edits;
* :mod:`.builder` -- the child process that parses the files of a full build;
* :mod:`.recent` -- open and recently closed documents, and the line ranges edited lately;
* :mod:`.retrieval` -- the candidates for a cursor, ranked and cut to ``maxRepoTokens``;
* :mod:`.service` -- :class:`Workspace`, the one object the engine talks to.
"""

from __future__ import annotations

from .service import Progress, Workspace

__all__ = ["Progress", "Workspace"]
