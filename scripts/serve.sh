#!/usr/bin/env bash
# Fetch the model files (once) and run VectaDB on the embedded default:
# SurrealDB (surrealkv) and Qdrant Edge in-process, data under ./data.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 scripts/fetch-models.py "${MODELS_DIR:-models}"
exec cargo run --bin vectadb -- serve "$@"
