#!/usr/bin/env python3
"""Reference all-MiniLM-L6-v2 vectors computed with Python onnxruntime + tokenizers.

Reads a JSON list of sentences on stdin and prints a JSON list of vectors (one per
sentence, in order) on stdout. It uses the same model.onnx and tokenizer.json as the Rust
adapter (api/src/embed/minilm.rs) and reproduces what fastembed 7.7 does with them:

* tokenizer (fastembed src/common.rs, load_tokenizer): padding to the longest sequence
  of the batch with the config's pad_token_id, truncation to --max-length
  (longest-first, stride 0, from the right), and every entry of special_tokens_map.json
  re-added as a special token (normalized=True for plain strings);
* all three inputs (input_ids, attention_mask, token_type_ids) fed to the graph;
* mean pooling over the attention mask (fastembed src/pooling.rs, mean), then
  v / (||v|| + 1e-12) (fastembed src/common.rs, normalize).

Usage: reference_vectors.py --model-dir models/all-MiniLM-L6-v2 [--max-length 256] < sentences.json
Needs: pip install -r tests/parity/requirements.txt
"""
import argparse
import json
import pathlib
import sys

try:
    import numpy as np
    import onnxruntime as ort
    from tokenizers import AddedToken, Tokenizer
except ImportError as exc:  # the Rust test shows this message when it fails
    sys.stderr.write(
        f"reference_vectors.py: missing Python package ({exc}); install them with\n"
        f"  {sys.executable} -m pip install -r tests/parity/requirements.txt\n"
    )
    sys.exit(3)


def load_tokenizer(model_dir: pathlib.Path, max_length: int) -> Tokenizer:
    config = json.loads((model_dir / "config.json").read_text())
    tokenizer_config = json.loads((model_dir / "tokenizer_config.json").read_text())
    special_tokens_map = json.loads((model_dir / "special_tokens_map.json").read_text())
    tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))

    max_length = min(max_length, int(tokenizer_config["model_max_length"]))
    pad_token = tokenizer_config["pad_token"]
    if isinstance(pad_token, dict):
        pad_token = pad_token["content"]
    pad_id = config.get("pad_token_id")
    if pad_id is None:
        pad_id = tokenizer.token_to_id(pad_token)
    if pad_id is None:
        pad_id = 0

    # tokenizer.json itself says "pad to 128, truncate at 128"; fastembed replaces both.
    tokenizer.enable_padding(pad_id=pad_id, pad_token=pad_token)  # length=None: batch longest
    tokenizer.enable_truncation(max_length=max_length)  # longest_first, stride 0, right

    added = []
    for value in special_tokens_map.values():
        if isinstance(value, str):
            added.append(AddedToken(value, single_word=False, lstrip=False, rstrip=False,
                                    normalized=True, special=True))
        elif isinstance(value, dict):
            keys = ("content", "single_word", "lstrip", "rstrip", "normalized")
            if all(k in value for k in keys):
                added.append(AddedToken(value["content"], single_word=value["single_word"],
                                        lstrip=value["lstrip"], rstrip=value["rstrip"],
                                        normalized=value["normalized"], special=True))
    tokenizer.add_special_tokens(added)
    return tokenizer


def embed(session: ort.InferenceSession, tokenizer: Tokenizer, sentences, batch_size: int):
    input_names = {i.name for i in session.get_inputs()}
    out = []
    for start in range(0, len(sentences), batch_size):
        batch = sentences[start:start + batch_size]
        encodings = tokenizer.encode_batch(batch, add_special_tokens=True)
        ids = np.array([e.ids for e in encodings], dtype=np.int64)
        mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
        feeds = {"input_ids": ids, "attention_mask": mask}
        if "token_type_ids" in input_names:
            feeds["token_type_ids"] = np.array([e.type_ids for e in encodings], dtype=np.int64)
        (hidden,) = session.run(["last_hidden_state"], feeds)  # [batch, seq, 384] float32
        m = mask[:, :, None].astype(np.float32)
        summed = (hidden * m).sum(axis=1)
        counts = m.sum(axis=1)
        counts[counts == 0] = 1.0
        pooled = summed / counts
        norms = np.sqrt((pooled * pooled).sum(axis=1, keepdims=True))
        out.extend((pooled / (norms + 1e-12)).astype(np.float32).tolist())
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model-dir", required=True, type=pathlib.Path,
                        help="directory with model.onnx, tokenizer.json and its config files")
    parser.add_argument("--max-length", type=int, default=256,
                        help="truncation length in word pieces (the Rust adapter's MAX_TOKENS)")
    parser.add_argument("--batch-size", type=int, default=16)
    args = parser.parse_args()

    sentences = json.load(sys.stdin)
    if not isinstance(sentences, list) or not all(isinstance(s, str) for s in sentences):
        sys.stderr.write("reference_vectors.py: stdin must be a JSON list of strings\n")
        return 2
    if not sentences:
        print("[]")
        return 0
    model_path = args.model_dir / "model.onnx"
    if not model_path.is_file():
        sys.stderr.write(f"reference_vectors.py: model file {model_path} not found: "
                         "run python3 scripts/fetch-models.py\n")
        return 2

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL  # fastembed: Level3
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    tokenizer = load_tokenizer(args.model_dir, args.max_length)
    json.dump(embed(session, tokenizer, sentences, args.batch_size), sys.stdout)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
