"""workspace.files: the walk skips ignored, vendored, excluded and escaping files, within caps."""

from __future__ import annotations

import os
from pathlib import Path

from qwen_lsp.workspace.files import Caps, Filter, walk


def tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return root


def found(root: Path, caps: Caps | None = None) -> list[str]:
    return sorted(os.path.relpath(f.path, root) for f in walk([str(root)], caps or Caps()))


def test_gitignore_vendored_folders_and_languages(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {
            "src/app.py": "x = 1\n",
            "src/gen/out.py": "x = 1\n",
            "src/.gitignore": "gen/\n*.tmp.py\n",
            "src/a.tmp.py": "x = 1\n",
            ".gitignore": "/build_output/\n",
            "build_output/b.py": "x = 1\n",
            "node_modules/lib/index.js": "x\n",
            ".venv/lib/x.py": "x\n",
            "README.md": "# no grammar\n",
            "web/main.ts": "let a = 1\n",
        },
    )
    assert found(root) == ["src/app.py", "web/main.ts"]


def test_secrets_are_excluded_by_default_and_the_setting_replaces_the_list(tmp_path: Path) -> None:
    root = tree(
        tmp_path,
        {"app.py": "", "conf/secrets.py": "", "conf/credentials_prod.py": "", "private/k.py": ""},
    )
    assert found(root) == ["app.py", "private/k.py"]
    assert found(root, Caps(exclude_globs=("private/",))) == [
        "app.py",
        "conf/credentials_prod.py",
        "conf/secrets.py",
    ]
    check = Filter([str(root)], Caps())
    assert check.excluded(str(root / "conf/secrets.py"))
    assert check.excluded(str(root / ".env.local"))
    assert check.excluded(str(root / "keys/server.pem"))
    assert not check.excluded(str(root / "app.py"))
    assert check.excluded("/elsewhere/app.py")  # outside every folder


def test_symlinks_out_of_the_workspace_are_skipped(tmp_path: Path) -> None:
    outside = tree(tmp_path / "outside", {"leak.py": "", "deep/more.py": ""})
    root = tree(tmp_path / "ws", {"real/inner.py": ""})
    (root / "out_dir").symlink_to(outside, target_is_directory=True)
    (root / "out_file.py").symlink_to(outside / "leak.py")
    (root / "in_link.py").symlink_to(root / "real/inner.py")
    (root / "loop").symlink_to(root, target_is_directory=True)
    assert found(root) == ["in_link.py", "real/inner.py"]
    check = Filter([str(root)], Caps())
    assert not check.allowed(str(root / "out_file.py"))
    assert check.allowed(str(root / "in_link.py"))


def test_caps(tmp_path: Path) -> None:
    root = tree(tmp_path, {f"m{i}.py": "x = 1\n" * (i + 1) for i in range(10)})
    assert len(found(root, Caps(max_files=4))) == 4
    assert found(root, Caps(max_file_bytes=12)) == ["m0.py", "m1.py"]  # 6 and 12 bytes
    assert len(found(root, Caps(max_total_bytes=6 + 12 + 18))) == 3


def test_filter_reads_gitignore_files_on_the_way(tmp_path: Path) -> None:
    root = tree(tmp_path, {"a/.gitignore": "secret_*.py\n", "a/secret_x.py": "", "a/ok.py": ""})
    check = Filter([str(root)], Caps())
    assert not check.allowed(str(root / "a/secret_x.py"))
    assert check.allowed(str(root / "a/ok.py"))
    assert not check.allowed(str(root / "a/notes.txt"))  # no grammar
