"""qwen-lsp: inline code completion from Alibaba's Qwen models over the Language Server Protocol."""

__version__ = "0.1.0"
