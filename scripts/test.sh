#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite:
# model files, the Python reference for the embedding parity test, format
# and lint checks, then every test (unit and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

export MODELS_DIR="${MODELS_DIR:-$PWD/models}"
python3 scripts/fetch-models.py "$MODELS_DIR"

# Python onnxruntime on the same model file: the reference vectors.
venv="${VECTADB_TEST_VENV:-$PWD/.venv-test}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check -r tests/parity/requirements.txt
export VECTADB_TEST_PYTHON="$venv/bin/python"

# fmt and clippy come with rustup's default profile; add them if missing.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The restart/crash tests run the real binary: build it with the tests.
cargo build --workspace --bins --tests
# nextest runs each test in its own process, in parallel; cargo test otherwise.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace
fi
