#!/usr/bin/env bash
# Build the AWS Lambda deployment package for the `provided.al2023` runtime:
#   dist/lambda/vectadb-lambda-<arch>.zip  =  bootstrap (vectadb-lambda, release)
#                                           + models/ (MiniLM and ONNX Runtime)
# and print a size report against Lambda's limits.
# Usage: scripts/package-lambda.sh [x86_64|arm64]      (default x86_64)
set -euo pipefail
cd "$(dirname "$0")/.."

arch="${1:-x86_64}"
case "$arch" in
    x86_64) target=x86_64-unknown-linux-gnu ;;
    arm64)
        target=aarch64-unknown-linux-gnu
        # The model fetcher takes the x86_64 ONNX Runtime wheel; an arm64 package
        # also needs the aarch64 wheel's libonnxruntime and a cross linker.
        if ! rustup target list --installed | grep -qx "$target"; then
            echo "error: arm64 needs the Rust target $target (rustup target add $target)," >&2
            echo "       an aarch64 linker (e.g. Debian gcc-aarch64-linux-gnu) and the aarch64" >&2
            echo "       onnxruntime wheel; build on an arm64 machine otherwise." >&2
            exit 1
        fi
        ;;
    *) echo "usage: $0 [x86_64|arm64]" >&2; exit 2 ;;
esac

cargo build --release --locked -p vectadb --features lambda --bin vectadb-lambda --target "$target"
target_dir="${CARGO_TARGET_DIR:-target}"
binary="$target_dir/$target/release/vectadb-lambda"

stage="dist/lambda/$arch"
rm -rf "$stage"
mkdir -p "$stage"
cp "$binary" "$stage/bootstrap"
python3 scripts/fetch-models.py "$stage/models" >/dev/null
rm -f "$stage/models/SHA256SUMS"

# provided.al2023 has glibc 2.34: nothing in the package may need a newer one.
newest_glibc() {
    objdump -T "$1" | grep -o 'GLIBC_[0-9.]*' | sed 's/GLIBC_//' | sort -V | tail -1
}
for file in "$stage/bootstrap" "$stage"/models/libonnxruntime.so.*; do
    needed="$(newest_glibc "$file")"
    if [ "$(printf '%s\n2.34\n' "$needed" | sort -V | tail -1)" != "2.34" ]; then
        echo "error: $file needs glibc $needed; Lambda's provided.al2023 has 2.34" >&2
        exit 1
    fi
done

zip_file="dist/lambda/vectadb-lambda-$arch.zip"
rm -f "$zip_file"
(cd "$stage" && zip -q -9 -r "../vectadb-lambda-$arch.zip" bootstrap models)

mib() { awk -v b="$1" 'BEGIN { printf "%.1f MiB", b / 1048576 }'; }
bytes() { du -sb "$1" | cut -f1; }
unzipped=$(bytes "$stage")
zipped=$(stat -c %s "$zip_file")
echo "package: $zip_file ($arch, glibc <= 2.34)"
echo "  bootstrap        $(mib "$(bytes "$stage/bootstrap")")"
echo "  models/          $(mib "$(bytes "$stage/models")")"
echo "  unzipped total   $(mib "$unzipped")   (Lambda limit: 250 MiB)"
echo "  zip              $(mib "$zipped")   (direct upload limit: 50 MiB; larger goes through S3)"
