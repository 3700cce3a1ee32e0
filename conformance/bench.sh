#!/usr/bin/env bash
# Benchmarks Floe against the single-disk S3 server s3s-fs: installs s3s-fs if it is missing,
# builds `floe` and `floe-bench` in release (in their own target directory, so the shared debug
# one is not disturbed) and runs floe-bench, passing every argument through. A `garage` binary
# on the PATH is measured too, as a second baseline (see docs/benchmarks.md).
#
#   bash conformance/bench.sh --quick          # smoke run, a minute or two
#   bash conformance/bench.sh                  # the full run; tables on stdout, JSON in target/
#   bash conformance/bench.sh --help           # floe-bench's flags
set -euo pipefail

cd "$(dirname "$0")/.."

if ! command -v s3s-fs >/dev/null 2>&1; then
    echo "installing s3s-fs 0.14.1 (the baseline)" >&2
    CARGO_TARGET_DIR=/tmp/s3s-fs-target cargo install s3s-fs --version 0.14.1 --features binary --locked ||
        CARGO_TARGET_DIR=/tmp/s3s-fs-target cargo install s3s-fs --version 0.14.1 --features binary
    export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
fi

target_dir=${CARGO_TARGET_DIR:-/tmp/floe-bench-target}
CARGO_TARGET_DIR=$target_dir cargo build --release -p floe-conformance -p floe-gateway \
    --bin floe --bin floe-bench

FLOE_BIN=$target_dir/release/floe exec "$target_dir/release/floe-bench" "$@"
