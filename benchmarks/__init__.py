"""qwen-lsp's benchmark suite: latency, request efficiency, document cost, memory, and a peer.

Run ``python -m benchmarks`` (or ``--smoke``) from the repository root; ``README.md`` beside
this file explains every figure.
"""
