#!/usr/bin/env bash
# Set up everything the tests need and run the whole suite:
# model files, the Python reference for the embedding parity test, format
# and lint checks, then every test (unit and end-to-end).
set -euo pipefail
cd "$(dirname "$0")/.."

export MODELS_DIR="${MODELS_DIR:-$PWD/models}"
python3 scripts/fetch-models.py "$MODELS_DIR"

# The admin UI's browser test drives Debian's headless Chromium through
# chromium-driver (Selenium).
if ! command -v chromium >/dev/null 2>&1 || ! command -v chromedriver >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null \
            || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null; }
    else
        echo "error: the UI test needs Chromium: sudo apt-get install chromium chromium-driver" >&2
        exit 1
    fi
fi

# Python onnxruntime on the same model file: the reference vectors; the real
# Helm engine and the Kubernetes schemas for the deployment tests; the
# OpenTelemetry Python SDK and its OTLP exporter for the ingest tests;
# an OpenAPI validator; Selenium for the UI test.
venv="${VECTADB_TEST_VENV:-$PWD/.venv-test}"
if [ ! -x "$venv/bin/python" ]; then
    python3 -m venv "$venv"
fi
"$venv/bin/pip" install --quiet --disable-pip-version-check \
    -r tests/parity/requirements.txt -r tests/deploy/requirements.txt \
    -r tests/otel/requirements.txt -r tests/openapi/requirements.txt \
    -r tests/ui/requirements.txt
export VECTADB_TEST_PYTHON="$venv/bin/python"

# The remote-backend tests run a real Qdrant server (QDRANT_BIN, else the
# prebuilt ../shared/bin/qdrant) and a real SurrealDB server (built below from
# the surrealdb-server crate). They never skip: a missing binary stops here.
export QDRANT_BIN="${QDRANT_BIN:-$(cd .. && pwd)/shared/bin/qdrant}"
if [ ! -x "$QDRANT_BIN" ]; then
    echo "error: no Qdrant server binary at $QDRANT_BIN; set QDRANT_BIN to a qdrant (1.x) binary" >&2
    exit 1
fi

# fmt and clippy come with rustup's default profile; add them if missing.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -- -D warnings
# The restart/crash tests run the real binary, the remote tests the SurrealDB
# test server: build every binary with the tests.
cargo build --workspace --bins --tests
# The Helm charts, docker-compose.yml and the container build files: lint,
# render, validate against Kubernetes' schemas, settings against the binaries.
"$venv/bin/python" -m pytest -q -p no:cacheprovider tests/deploy
# Each fuzz target (tests/e2e/fuzz.rs) runs for this long.
export VECTADB_FUZZ_SECONDS="${VECTADB_FUZZ_SECONDS:-60}"
# nextest runs each test in its own process, in parallel; cargo test otherwise.
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace --no-fail-fast
else
    cargo test --workspace
fi
# The benchmark in quick mode, as a smoke check of every benchmarked path on
# both backends (timings are reported, never asserted).
RUST_LOG=error "${CARGO_TARGET_DIR:-target}/debug/vectadb-bench" --quick \
    --out "${CARGO_TARGET_DIR:-target}/bench-quick.md"
