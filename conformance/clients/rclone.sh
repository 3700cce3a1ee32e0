#!/usr/bin/env bash
# rclone, its usual workflow against an S3 remote (provider Other, default settings): copy a tree
# up and back down, check (sizes and MD5s, and it must notice a difference), sync after changes,
# lsjson, delete and purge. The config lives in a temp file. AWS_CA_BUNDLE is unset for rclone:
# rclone 1.60 refuses plain-HTTP endpoints when it is set.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

cat >"$W/rclone.conf" <<EOF
[t]
type = s3
provider = Other
access_key_id = $AWS_ACCESS_KEY_ID
secret_access_key = $AWS_SECRET_ACCESS_KEY
endpoint = $S3_ENDPOINT
region = $AWS_REGION
EOF

# Default settings; only a time limit, so a server error rclone keeps retrying fails the step
# instead of the whole run.
# (--foreground keeps rclone in the script's process group, which the runner stops on its timeout.)
rc() { timeout --foreground 30 env -u AWS_CA_BUNDLE rclone --config "$W/rclone.conf" "$@"; }
src="$W/src"

setup() {
  run rclone version
  run rc mkdir "t:$B"
  gen "$src/a.txt" 1000
  gen "$src/big.bin" $((6 * 1024 * 1024 + 3))
  gen "$src/dir/b c.txt" 20000
  gen "$src/dir/sub/ünï+côdé.txt" 33
  : >"$src/empty"
}

copy() {
  run rc copy "$src" "t:$B/data"
  run rc copy "t:$B/data" "$W/down"
  same_tree "$W/down" "$src" "rclone copy up then down"
}

check() {
  run rc check "$src" "t:$B/data"
  # A check that cannot fail proves nothing: one local byte changed must be reported.
  cp -r "$src" "$W/altered"
  printf 'X' | dd of="$W/altered/dir/b c.txt" bs=1 seek=100 conv=notrunc status=none
  if rc check "$W/altered" "t:$B/data" >/dev/null 2>&1; then
    die "rclone check reported no difference for a changed file"
  fi
}

sync_dir() {
  gen "$src/a.txt" 1001
  rm "$src/dir/sub/ünï+côdé.txt"
  rmdir "$src/dir/sub" # S3 has no empty directories
  gen "$src/new/file.txt" 10
  run rc sync "$src" "t:$B/data"
  run rc check "$src" "t:$B/data"
  run rc sync "t:$B/data" "$W/synced"
  same_tree "$W/synced" "$src" "rclone sync back down"
}

lsjson() {
  local got want
  got=$(rc lsjson -R --files-only "t:$B/data" |
    python3 -c 'import json,sys; [print("{} {}".format(e["Path"], e["Size"])) for e in json.load(sys.stdin)]')
  want=$(cd "$src" && find . -type f -printf '%P %s\n' | LC_ALL=C sort)
  got=$(echo "$got" | LC_ALL=C sort)
  echo "lsjson:"
  echo "$got"
  [ "$got" = "$want" ] || die "lsjson shows [$(echo $got)], want [$(echo $want)]"
}

delete() {
  run rc delete "t:$B/data/dir"
  local left
  left=$(rc lsjson -R --files-only "t:$B/data/dir")
  [ "$left" = "[" ] || [ "$left" = "[]" ] || [ -z "$(echo "$left" | tr -d '[]\n ')" ] ||
    die "files left under data/dir after rclone delete: $left"
  left=$(rc lsjson "t:$B/data/a.txt")
  has "$left" '"a.txt"' || die "rclone delete of data/dir removed data/a.txt"
}

purge() {
  run rc purge "t:$B"
  local buckets
  buckets=$(rc lsjson --dirs-only "t:")
  if has "$buckets" "\"$B\""; then die "bucket $B still exists after purge"; fi
}

step setup setup
[ "$failed" = 0 ] || exit 1
step "put/get object" copy
step "check (size+MD5)" check
step "sync directory" sync_dir
step "list objects" lsjson
step "delete object" delete
step "purge bucket" purge
exit "$failed"
