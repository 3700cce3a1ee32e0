#!/usr/bin/env bash
# aws cli, its usual workflow: cp up and down (a small, an empty and a 12 MiB file, which the cli
# uploads as multipart), sync both ways (then a change and --delete), ls, presign + plain HTTP GET,
# s3api multipart (create-multipart-upload / upload-part / complete-multipart-upload),
# put/get-object-tagging, head-object, rm, mb/rb, versioning (s3api: versions, a delete marker,
# get by version id, undelete) and object lock (default retention, legal hold, refused deletes,
# governance bypass). Every download is compared byte for byte.
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

# Deletes every version and delete marker in bucket $1, then the bucket: a versioned bucket is
# only empty once its history is gone (aws s3 rb --force deletes current objects only). With
# $2 = bypass, GOVERNANCE retention is bypassed (a lock bucket).
drop_versioned() {
  local bucket="$1" k v
  local -a bypass=()
  [ "${2:-}" = bypass ] && bypass=(--bypass-governance-retention)
  awsx s3api list-object-versions --bucket "$bucket" --output json |
    python3 -c 'import json,sys
d = json.load(sys.stdin)
for e in d.get("Versions", []) + d.get("DeleteMarkers", []):
    print(e["Key"] + "\t" + e["VersionId"])' |
    while IFS=$'\t' read -r k v; do
      awsx s3api delete-object --bucket "$bucket" --key "$k" --version-id "$v" "${bypass[@]}" >/dev/null
    done
  awsx s3api delete-bucket --bucket "$bucket"
}

# One key written three times, deleted (a delete marker), every version read back by id, then
# undeleted by deleting the marker. $B-x is free again after the bucket step.
versioning() {
  local vb="$B-x" key="ver/doc.txt" got i marker out listed want
  local -a ids
  run awsx s3 mb "s3://$vb"
  run awsx s3api put-bucket-versioning --bucket "$vb" --versioning-configuration Status=Enabled
  got=$(awsx s3api get-bucket-versioning --bucket "$vb" --query Status --output text)
  [ "$got" = Enabled ] || die "get-bucket-versioning says Status=$got after enabling"
  for i in 1 2 3; do
    gen "$W/ver/$i" $((1000 + i))
    ids[i]=$(awsx s3api put-object --bucket "$vb" --key "$key" --body "$W/ver/$i" \
      --query VersionId --output text)
    echo "version $i: ${ids[i]}"
    case "${ids[i]}" in "" | None | null) die "put-object $i returned no version id" ;; esac
  done
  [ "$(printf '%s\n' "${ids[@]}" | sort -u | wc -l)" = 3 ] ||
    die "three PUTs returned repeated version ids: ${ids[*]}"
  out=$(awsx s3api delete-object --bucket "$vb" --key "$key" \
    --query '[DeleteMarker, VersionId]' --output text)
  echo "delete: $out"
  marker=$(cut -f2 <<<"$out")
  [ "$(cut -f1 <<<"$out")" = True ] || die "delete-object made no delete marker: $out"
  case "$marker" in "" | None | null | "${ids[1]}" | "${ids[2]}" | "${ids[3]}")
    die "the delete marker has version id '$marker'" ;;
  esac
  # The marker is the latest version: the key reads as missing.
  if out=$(awsx s3api get-object --bucket "$vb" --key "$key" "$W/ver/gone" 2>&1); then
    die "get-object succeeded while a delete marker is the latest version"
  fi
  has "$out" NoSuchKey || die "get-object under a delete marker: want NoSuchKey (404), got: $out"
  if out=$(awsx s3api head-object --bucket "$vb" --key "$key" 2>&1); then
    die "head-object succeeded while a delete marker is the latest version"
  fi
  has "$out" '(404)' || die "head-object under a delete marker: want 404, got: $out"
  # Versions newest first, none latest; the marker is latest.
  listed=$(awsx s3api list-object-versions --bucket "$vb" --prefix ver/ --output json |
    python3 -c 'import json,sys
d = json.load(sys.stdin)
v, m = d.get("Versions", []), d.get("DeleteMarkers", [])
print(" ".join("v:%s:%s:%s" % (e["VersionId"], e["Size"], e["IsLatest"]) for e in v))
print(" ".join("m:%s:%s" % (e["VersionId"], e["IsLatest"]) for e in m))')
  echo "listed: $listed"
  want="v:${ids[3]}:1003:False v:${ids[2]}:1002:False v:${ids[1]}:1001:False
m:$marker:True"
  [ "$listed" = "$want" ] || die "list-object-versions shows [$(echo $listed)], want [$(echo $want)]"
  for i in 1 2 3; do
    got=$(awsx s3api get-object --bucket "$vb" --key "$key" --version-id "${ids[i]}" "$W/ver/got$i" \
      --query VersionId --output text)
    same "$W/ver/got$i" "$W/ver/$i" "get-object --version-id ${ids[i]} (version $i)"
    [ "$got" = "${ids[i]}" ] || die "get-object --version-id ${ids[i]} answered version $got"
  done
  # A version id that names a delete marker is 405 in S3.
  if out=$(awsx s3api get-object --bucket "$vb" --key "$key" --version-id "$marker" "$W/ver/m" \
    2>&1); then
    die "get-object of the delete marker's version id succeeded"
  fi
  has "$out" MethodNotAllowed ||
    die "get-object --version-id MARKER: want MethodNotAllowed (405), got: $out"
  # Undelete: removing the marker makes version 3 the latest again.
  out=$(awsx s3api delete-object --bucket "$vb" --key "$key" --version-id "$marker" \
    --query '[DeleteMarker, VersionId]' --output text)
  [ "$out" = "$(printf 'True\t%s' "$marker")" ] ||
    die "delete-object --version-id MARKER answered [$out]"
  got=$(awsx s3api get-object --bucket "$vb" --key "$key" "$W/ver/back" --query VersionId --output text)
  same "$W/ver/back" "$W/ver/3" "get-object after the delete marker was removed"
  [ "$got" = "${ids[3]}" ] || die "after undelete the latest version is $got, want ${ids[3]}"
  run drop_versioned "$vb"
  got=$(awsx s3 ls)
  if has "$got" " $vb\$"; then die "bucket $vb is still listed after deleting all versions"; fi
}

# A lock bucket with a GOVERNANCE default retention of one day: aws s3 cp writes retained
# versions (single part and multipart), a legal hold goes on and off, rm adds a delete marker,
# and removing a retained version is AccessDenied unless the governance bypass is asked for
# (a legal hold refuses even that). Uses $B-x.
object_lock() {
  local lb="$B-x" got out v f
  run awsx s3api create-bucket --bucket "$lb" --object-lock-enabled-for-bucket
  run awsx s3api put-object-lock-configuration --bucket "$lb" --object-lock-configuration \
    '{"ObjectLockEnabled":"Enabled","Rule":{"DefaultRetention":{"Mode":"GOVERNANCE","Days":1}}}'
  got=$(awsx s3api get-object-lock-configuration --bucket "$lb" --output text \
    --query 'ObjectLockConfiguration.[ObjectLockEnabled, Rule.DefaultRetention.Mode, Rule.DefaultRetention.Days]')
  [ "$got" = "$(printf 'Enabled\tGOVERNANCE\t1')" ] || die "get-object-lock-configuration: [$got]"
  gen "$W/lock/small.txt" 1000
  gen "$W/lock/big.bin" $((12 * 1024 * 1024 + 5))
  for f in small.txt big.bin; do
    run awsx s3 cp "${quiet[@]}" "$W/lock/$f" "s3://$lb/$f"
    got=$(awsx s3api head-object --bucket "$lb" --key "$f" --output text \
      --query '[ObjectLockMode, ObjectLockRetainUntilDate != null]')
    [ "$got" = "$(printf 'GOVERNANCE\tTrue')" ] || die "head-object $f after cp: lock [$got]"
  done
  v=$(awsx s3api head-object --bucket "$lb" --key small.txt --query VersionId --output text)
  run awsx s3api put-object-legal-hold --bucket "$lb" --key small.txt --legal-hold Status=ON
  got=$(awsx s3api get-object-legal-hold --bucket "$lb" --key small.txt --query LegalHold.Status --output text)
  [ "$got" = ON ] || die "get-object-legal-hold says $got"
  # A plain delete is a marker; the version stays readable.
  run awsx s3 rm --only-show-errors "s3://$lb/small.txt"
  run awsx s3api get-object --bucket "$lb" --key small.txt --version-id "$v" "$W/lock/got"
  same "$W/lock/got" "$W/lock/small.txt" "the retained version after rm"
  for bypass in "" --bypass-governance-retention; do
    if out=$(awsx s3api delete-object --bucket "$lb" --key small.txt --version-id "$v" $bypass 2>&1); then
      die "delete-object of a legal-held version succeeded ($bypass)"
    fi
    has "$out" AccessDenied || die "delete-object of a legal-held version: want AccessDenied, got: $out"
  done
  run awsx s3api put-object-legal-hold --bucket "$lb" --key small.txt --version-id "$v" \
    --legal-hold Status=OFF
  if out=$(awsx s3api delete-object --bucket "$lb" --key small.txt --version-id "$v" 2>&1); then
    die "delete-object of a GOVERNANCE version succeeded without the bypass"
  fi
  has "$out" AccessDenied || die "delete-object under GOVERNANCE: want AccessDenied, got: $out"
  run awsx s3api delete-object --bucket "$lb" --key small.txt --version-id "$v" \
    --bypass-governance-retention
  run drop_versioned "$lb" bypass
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
step "object versioning" versioning
# Only left over when the versioning step failed half-way.
drop_versioned "$B-x" >/dev/null 2>&1 || true
step "object lock" object_lock
awsx s3 rb --force "s3://$B" >/dev/null 2>&1 || true
# Only left over when the object lock step failed half-way.
drop_versioned "$B-x" bypass >/dev/null 2>&1 || true
exit "$failed"
