#!/usr/bin/env bash
# s3cmd, its usual workflow with a temp config (path style: host_bucket = host_base, plain HTTP,
# SigV4): mb/ls/rb, put and get (a small file, a file with spaces and `+` in its name, and a
# 20 MiB file that s3cmd uploads as multipart in 15 MiB chunks), ls, del. Byte-for-byte compares.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

host="${S3_ENDPOINT#*://}"
host="${host%%/*}"
cat >"$W/s3cfg" <<EOF
[default]
access_key = $AWS_ACCESS_KEY_ID
secret_key = $AWS_SECRET_ACCESS_KEY
host_base = $host
host_bucket = $host
use_https = False
signature_v2 = False
bucket_location = $AWS_REGION
EOF

s3c() { s3cmd -c "$W/s3cfg" --no-progress "$@"; }

setup() {
  run s3cmd --version
  run s3c mb "s3://$B"
  gen "$W/up/small.txt" 1234
  gen "$W/up/sp ace+plus.txt" 99
  gen "$W/up/big.bin" $((20 * 1024 * 1024 + 5))
}

put_get() {
  run s3c put "$W/up/small.txt" "s3://$B/small.txt"
  run s3c put "$W/up/sp ace+plus.txt" "s3://$B/dir/sp ace+plus.txt"
  run s3c get --force "s3://$B/small.txt" "$W/down/small.txt"
  run s3c get --force "s3://$B/dir/sp ace+plus.txt" "$W/down/odd.txt"
  same "$W/down/small.txt" "$W/up/small.txt" "s3cmd get small.txt"
  same "$W/down/odd.txt" "$W/up/sp ace+plus.txt" "s3cmd get 'dir/sp ace+plus.txt'"
}

multipart() {
  run s3c put "$W/up/big.bin" "s3://$B/big.bin"
  run s3c get --force "s3://$B/big.bin" "$W/down/big.bin"
  same "$W/down/big.bin" "$W/up/big.bin" "s3cmd get of a multipart upload"
}

list() {
  local got want
  got=$(s3c ls --recursive "s3://$B/" | sed 's|.*s3://|s3://|' | sort)
  want=$(printf 's3://%s/%s\n' "$B" big.bin "$B" "dir/sp ace+plus.txt" "$B" small.txt | sort)
  echo "listed:"
  echo "$got"
  [ "$got" = "$want" ] || die "s3cmd ls lists [$(echo $got)], want [$(echo $want)]"
  local top
  top=$(s3c ls "s3://$B/")
  has "$top" "DIR.*s3://$B/dir/" || die "s3cmd ls shows no DIR s3://$B/dir/"
}

delete() {
  run s3c del "s3://$B/small.txt"
  local top
  top=$(s3c ls "s3://$B/")
  if has "$top" "s3://$B/small.txt"; then die "small.txt still listed after del"; fi
  if s3c get --force "s3://$B/small.txt" "$W/gone" >/dev/null 2>&1; then die "get after del succeeded"; fi
  run s3c del --recursive --force "s3://$B/"
  local left
  left=$(s3c ls --recursive "s3://$B/")
  [ -z "$left" ] || die "objects left after del --recursive: $left"
}

bucket() {
  run s3c mb "s3://$B-x"
  local buckets
  buckets=$(s3c ls)
  has "$buckets" "s3://$B-x\$" || die "new bucket $B-x is not listed"
  run s3c rb "s3://$B-x"
  buckets=$(s3c ls)
  if has "$buckets" "s3://$B-x\$"; then die "removed bucket $B-x is still listed"; fi
}

step setup setup
[ "$failed" = 0 ] || exit 1
step "put/get object" put_get
step "multipart upload" multipart
step "list objects" list
step "delete object" delete
step "bucket create/list/delete" bucket
s3c rb "s3://$B" >/dev/null 2>&1 || true
exit "$failed"
