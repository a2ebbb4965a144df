"""``python -m qwen_lsp``: the same as the ``qwen-lsp`` command."""

from .cli import main

raise SystemExit(main())
