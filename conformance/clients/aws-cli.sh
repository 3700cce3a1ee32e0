#!/usr/bin/env bash
# aws cli, its usual workflow: cp up and down (a small, an empty and a 12 MiB file, which the cli
# uploads as multipart), sync both ways (then a change and --delete), ls, presign + plain HTTP GET,
# s3api multipart (create-multipart-upload / upload-part / complete-multipart-upload),
# put/get-object-tagging, head-object, rm, and mb/rb. Every download is compared byte for byte.
set -uo pipefail
. "$(dirname "$0")/lib.sh"

awsx() { aws --endpoint-url "$S3_ENDPOINT" "$@"; }
quiet=(--only-show-errors --no-progress)

setup() {
  run aws --version
  run awsx s3 mb "s3://$B"
}

put_get() {
  gen "$W/up/small.txt" 1000
  gen "$W/up/big.bin" $((12 * 1024 * 1024 + 17))
  : >"$W/up/empty"
  for f in small.txt big.bin empty; do
    run awsx s3 cp "${quiet[@]}" "$W/up/$f" "s3://$B/cp/$f"
  done
  for f in small.txt big.bin empty; do
    run awsx s3 cp "${quiet[@]}" "s3://$B/cp/$f" "$W/down/$f"
    same "$W/down/$f" "$W/up/$f" "cp s3://$B/cp/$f"
  done
}

sync_dir() {
  local src="$W/tree" dst="$W/tree-down" again="$W/tree-again"
  gen "$src/a.txt" 300
  gen "$src/dir/b.bin" 200000
  gen "$src/dir/sub/c d.txt" 4000
  gen "$src/unicode/é ü.txt" 10
  gen "$src/plus+file.txt" 77
  run awsx s3 sync "${quiet[@]}" "$src" "s3://$B/sync"
  run awsx s3 sync "${quiet[@]}" "s3://$B/sync" "$dst"
  same_tree "$dst" "$src" "sync down after sync up"
  # Change one file, remove one, add one; --delete removes the remote copy too.
  gen "$src/a.txt" 301
  rm "$src/dir/b.bin"
  gen "$src/new.txt" 5
  run awsx s3 sync "${quiet[@]}" --delete "$src" "s3://$B/sync"
  run awsx s3 sync "${quiet[@]}" "s3://$B/sync" "$again"
  same_tree "$again" "$src" "sync after a change and --delete"
}

list() {
  local got want
  got=$(awsx s3 ls --recursive "s3://$B/sync/" | awk '{ $1 = $2 = $3 = ""; print substr($0, 4) }' | sort)
  want=$(cd "$W/tree" && find . -type f | sed 's|^\./|sync/|' | sort)
  echo "listed:"
  echo "$got"
  [ "$got" = "$want" ] || die "aws s3 ls --recursive lists [$(echo $got)], want [$(echo $want)]"
  local top buckets
  top=$(awsx s3 ls "s3://$B/")
  has "$top" 'PRE sync/' || die "aws s3 ls s3://$B/ shows no 'PRE sync/'"
  buckets=$(awsx s3 ls)
  has "$buckets" " $B\$" || die "aws s3 ls does not list bucket $B"
}

presign() {
  local url
  url=$(awsx s3 presign "s3://$B/cp/small.txt" --expires-in 300)
  echo "presigned: $url"
  python3 - "$url" "$W/presigned.out" <<'EOF'
import sys, urllib.request
with urllib.request.urlopen(sys.argv[1]) as r, open(sys.argv[2], "wb") as f:
    f.write(r.read())
EOF
  same "$W/presigned.out" "$W/up/small.txt" "GET of the presigned URL"
}

multipart() {
  local id e1 e2 etag
  gen "$W/mp/p1" $((5 * 1024 * 1024))
  gen "$W/mp/p2" 123457
  id=$(awsx s3api create-multipart-upload --bucket "$B" --key "mp/object" --query UploadId --output text)
  echo "upload id: $id"
  e1=$(awsx s3api upload-part --bucket "$B" --key mp/object --upload-id "$id" --part-number 1 \
    --body "$W/mp/p1" --query ETag --output text)
  e2=$(awsx s3api upload-part --bucket "$B" --key mp/object --upload-id "$id" --part-number 2 \
    --body "$W/mp/p2" --query ETag --output text)
  python3 - "$e1" "$e2" >"$W/mp/parts.json" <<'EOF'
import json, sys
print(json.dumps({"Parts": [{"ETag": e, "PartNumber": i + 1} for i, e in enumerate(sys.argv[1:])]}))
EOF
  etag=$(awsx s3api complete-multipart-upload --bucket "$B" --key mp/object --upload-id "$id" \
    --multipart-upload "file://$W/mp/parts.json" --query ETag --output text)
  echo "completed: $etag"
  case "$etag" in *-2\"|*-2) ;; *) die "multipart ETag $etag does not end in -2" ;; esac
  awsx s3api get-object --bucket "$B" --key mp/object "$W/mp/got" >/dev/null
  cat "$W/mp/p1" "$W/mp/p2" >"$W/mp/want"
  same "$W/mp/got" "$W/mp/want" "s3api get-object of the completed upload"
}

tagging() {
  local got
  run awsx s3api put-object-tagging --bucket "$B" --key cp/small.txt \
    --tagging 'TagSet=[{Key=project,Value=floe},{Key=tier,Value=hot data}]'
  got=$(awsx s3api get-object-tagging --bucket "$B" --key cp/small.txt --output json |
    python3 -c 'import json,sys; print(sorted((t["Key"], t["Value"]) for t in json.load(sys.stdin)["TagSet"]))')
  echo "tags: $got"
  [ "$got" = "[('project', 'floe'), ('tier', 'hot data')]" ] || die "get-object-tagging returned $got"
}

head_object() {
  local got want
  got=$(awsx s3api head-object --bucket "$B" --key cp/small.txt --query '[ContentLength, ETag]' --output text)
  want=$(printf '1000\t"%s"' "$(md5_of "$W/up/small.txt")")
  echo "head: $got"
  [ "$got" = "$want" ] || die "head-object says [$got], want [$want]"
  if awsx s3api head-object --bucket "$B" --key cp/missing >/dev/null 2>&1; then
    die "head-object of a missing key succeeded"
  fi
}

delete() {
  run awsx s3 rm --only-show-errors "s3://$B/cp/small.txt"
  if awsx s3api head-object --bucket "$B" --key cp/small.txt >/dev/null 2>&1; then
    die "cp/small.txt still exists after aws s3 rm"
  fi
  run awsx s3 rm --only-show-errors --recursive "s3://$B/"
  local left
  left=$(awsx s3 ls --recursive "s3://$B/" || true)
  [ -z "$left" ] || die "objects left after rm --recursive: $left"
}

bucket() {
  run awsx s3 mb "s3://$B-x"
  local buckets
  buckets=$(awsx s3 ls)
  has "$buckets" " $B-x\$" || die "new bucket $B-x is not listed"
  run awsx s3 rb "s3://$B-x"
  buckets=$(awsx s3 ls)
  if has "$buckets" " $B-x\$"; then die "removed bucket $B-x is still listed"; fi
}

step setup setup
[ "$failed" = 0 ] || exit 1
step "put/get object" put_get
step "sync directory" sync_dir
step "list objects" list
step "presigned GET" presign
step "multipart upload" multipart
step "object tagging" tagging
step "head object" head_object
step "delete object" delete
step "bucket create/list/delete" bucket
awsx s3 rb --force "s3://$B" >/dev/null 2>&1 || true
exit "$failed"
