"""Time ``qwen_lsp.postprocess`` in a fresh process (run as a script, not imported).

``python -P cost_probe.py`` with ``PYTHONPATH`` set to the source tree under test reads a JSON
job from stdin and writes the timings as JSON to stdout. It imports nothing from the benchmark
(so ``benchmarks`` of another tree cannot shadow it) and uses only the two entry points the
post-processor keeps stable: ``finish(raw, ctx, chat=...)`` and ``StreamCutter(ctx, chat)``
with ``.feed(piece)``, the context coming from ``qwen_lsp.context.build_context``.

Measured: the import of ``qwen_lsp.postprocess``; the first ``finish()`` of each language in
this process (grammar loading, if any, included); then, warm, every ``finish()`` on the job's
replies (``repeat`` times each) and every ``feed()`` of a cutter fed the reply chunk by chunk
until it says stop, as the engine does.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any

# Tiny documents for the first use of other languages: (language id, text before the cursor,
# text after it, reply).
_OTHER_LANGUAGES: tuple[tuple[str, str, str, str], ...] = (
    ("javascript", "function add(a, b) {\n  ", "\n}\n", "const s = a + b;\n  return s;\n}"),
    ("typescript", "function add(a: number): number {\n  ", "\n}\n", "return a + 1;\n}"),
    ("go", "func add(a int) int {\n\t", "\n}\n", "b := a + 1\n\treturn b\n}"),
    ("rust", "fn add(a: i32) -> i32 {\n    ", "\n}\n", "let b = a + 1;\n    b\n}"),
    ("java", "class A {\n  int add(int a) {\n    ", "\n  }\n}\n", "return a + 1;\n  }"),
    ("c", "int add(int a) {\n    ", "\n}\n", "int b = a + 1;\n    return b;\n}"),
    ("cpp", "int add(int a) {\n    ", "\n}\n", "auto b = a + 1;\n    return b;\n}"),
    ("ruby", "def add(a)\n  ", "\nend\n", "b = a + 1\n  b\nend"),
    ("lua", "local function add(a)\n  ", "\nend\n", "local b = a + 1\n  return b\nend"),
)


def _ms(start: int) -> float:
    return (time.perf_counter_ns() - start) / 1e6


def main() -> int:
    job: dict[str, Any] = json.load(sys.stdin)
    started = time.perf_counter_ns()
    from qwen_lsp import postprocess
    from qwen_lsp.context import build_context

    import_ms = _ms(started)

    def context(text: str, cursor: int, language: str) -> Any:
        lines = text.splitlines(keepends=True)
        if not lines or text.endswith(("\n", "\r")):
            lines.append("")
        before = text[:cursor]
        line = before.count("\n")
        index = cursor - (before.rfind("\n") + 1)
        return build_context(
            lines,
            line,
            index,
            prefix_budget=2048,
            suffix_budget=512,
            path=f"bench.{language}",
            language=language,
        )

    samples = job["samples"]
    first: dict[str, float] = {}
    if samples:
        s = samples[0]
        ctx = context(s["document"], s["cursor"], "python")
        start = time.perf_counter_ns()
        postprocess.finish(s["fim"], ctx, chat=False)
        first["python"] = _ms(start)
    for language, before, after, reply in _OTHER_LANGUAGES:
        ctx = context(before + after, len(before), language)
        start = time.perf_counter_ns()
        postprocess.finish(reply, ctx, chat=False)
        first[language] = _ms(start)

    finish_us: dict[str, list[float]] = {"fim": [], "chat": []}
    feed_us: dict[str, list[float]] = {"fim": [], "chat": []}
    chunks_fed: dict[str, int] = {"fim": 0, "chat": 0}
    for s in samples:
        ctx = context(s["document"], s["cursor"], "python")
        for mode in ("fim", "chat"):
            chat = mode == "chat"
            raw = s[mode]
            for _ in range(int(job["repeat"])):
                start = time.perf_counter_ns()
                postprocess.finish(raw, ctx, chat=chat)
                finish_us[mode].append((time.perf_counter_ns() - start) / 1e3)
            cutter = postprocess.StreamCutter(ctx, chat)
            for piece in s[f"{mode}_chunks"]:
                start = time.perf_counter_ns()
                stop = cutter.feed(piece)
                feed_us[mode].append((time.perf_counter_ns() - start) / 1e3)
                chunks_fed[mode] += 1
                if stop:
                    break
    json.dump(
        {
            "module": postprocess.__file__,
            "import_ms": import_ms,
            "first_ms": first,
            "finish_us": finish_us,
            "feed_us": feed_us,
            "chunks_fed": chunks_fed,
        },
        sys.stdout,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
