# Shared by the client scripts (sourced, not run).
#
# Environment (set by floe-conformance, or by hand to run a script alone):
#   S3_ENDPOINT, AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_REGION
#   CONFORMANCE_BUCKET   a bucket name the script may create and delete (and "$CONFORMANCE_BUCKET-x")
#   CONFORMANCE_WORKDIR  an empty scratch directory
#
# Each workflow step runs as `step "matrix row" function`: the function runs in a subshell with
# `set -e`, `die` explains a mismatch, and the step prints one machine-readable line
#   RESULT|pass|SECONDS|ROW|            or   RESULT|fail|SECONDS|ROW|MESSAGE
# A step named `setup` is not a matrix row: when it fails, the script stops and every row reports
# the setup failure. The script exits non-zero if any step failed.

: "${S3_ENDPOINT:?S3_ENDPOINT is not set}"
: "${AWS_ACCESS_KEY_ID:?AWS_ACCESS_KEY_ID is not set}"
: "${AWS_SECRET_ACCESS_KEY:?AWS_SECRET_ACCESS_KEY is not set}"
: "${CONFORMANCE_BUCKET:?CONFORMANCE_BUCKET is not set}"
: "${CONFORMANCE_WORKDIR:?CONFORMANCE_WORKDIR is not set}"
export AWS_REGION="${AWS_REGION:-us-east-1}"
export AWS_DEFAULT_REGION="$AWS_REGION"

B="$CONFORMANCE_BUCKET"
W="$CONFORMANCE_WORKDIR"
failed=0

# Explains why the current step fails, then fails it.
die() {
  echo "CHECK FAILED: $*"
  echo "$*" >"$W/.last-error"
  exit 1
}

step() {
  local row="$1"
  shift
  echo "--- $row"
  rm -f "$W/.last-error"
  local t0 t1 rc secs msg
  t0=$(date +%s.%N)
  (
    set -eo pipefail
    "$@"
  )
  rc=$?
  t1=$(date +%s.%N)
  secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
  if [ "$rc" -eq 0 ]; then
    echo "RESULT|pass|$secs|$row|"
  else
    msg="a command failed (exit status $rc), see the output above"
    [ "$rc" -eq 124 ] && msg="a command did not finish within its time limit, see the output above"
    [ -s "$W/.last-error" ] && msg=$(head -n 1 "$W/.last-error")
    echo "RESULT|fail|$secs|$row|$msg"
    failed=1
  fi
}

# Echoes a command before running it, so the output reads as a transcript.
run() {
  echo "+ $*"
  "$@"
}

# gen FILE BYTES: random content (incompressible, never accidentally equal).
gen() {
  mkdir -p "$(dirname "$1")"
  head -c "$2" /dev/urandom >"$1"
}

# same GOT WANT WHAT: byte-for-byte equality.
same() {
  cmp -s "$1" "$2" || die "$3: $1 differs from $2 ($(wc -c <"$1") vs $(wc -c <"$2") bytes)"
}

# same_tree GOT WANT WHAT: the same files with the same bytes.
same_tree() {
  local d
  d=$(diff -r "$1" "$2" 2>&1) || die "$3: trees differ: $(echo "$d" | head -n 3 | tr '\n' ' ')"
}

# has TEXT REGEX: TEXT has a line matching REGEX (no pipe into `grep -q`: with pipefail, the
# writer's SIGPIPE would fail the check).
has() {
  grep -q -- "$2" <<<"$1"
}

md5_of() {
  md5sum "$1" | cut -d' ' -f1
}
