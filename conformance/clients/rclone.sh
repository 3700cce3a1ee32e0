#!/usr/bin/env bash
# rclone, its usual workflow against an S3 remote (provider Other, default settings): copy a tree
# up and back down, check (sizes and MD5s, and it must notice a difference), sync after changes,
# lsjson, delete and purge, versioning (`backend versioning`, --s3-versions, --s3-version-at,
# restoring an old version, `backend cleanup-hidden`), and syncs into a lock bucket with a default
# retention. The config lives in a temp file.
# AWS_CA_BUNDLE is unset for rclone: rclone 1.60 refuses plain-HTTP endpoints when it is set.
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

# rclone cannot name a delete marker, so the history goes with `backend cleanup-hidden` (old
# versions and markers) after the current version is deleted.
drop_versioned() {
  rc delete "t:$1" || true
  rc backend cleanup-hidden "t:$1"
  rc rmdir "t:$1"
}

# One key written three times, deleted (a delete marker), old versions listed and read back, then
# restored by a server-side copy of a version (CopyObject with ?versionId=). Uses $B-x.
versioning() {
  local vb="$B-x" got i t
  local -a names
  run rc mkdir "t:$vb"
  got=$(rc backend versioning "t:$vb" Enabled)
  [ "$got" = Enabled ] || die "rclone backend versioning t:$vb Enabled answered '$got'"
  got=$(rc backend versioning "t:$vb")
  [ "$got" = Enabled ] || die "rclone backend versioning t:$vb reads '$got' after enabling"
  # The pauses: rclone names versions by LastModified, which an S3 server may keep to the second.
  for i in 1 2 3; do
    gen "$W/ver/$i" $((1000 + i))
    run rc copyto "$W/ver/$i" "t:$vb/doc.txt"
    sleep 1
  done
  run rc deletefile "t:$vb/doc.txt"
  # The delete marker hides the key: HEAD is 404, so rclone sees no file there.
  got=$(rc lsjson --stat "t:$vb/doc.txt")
  if has "$got" '"IsDir": false'; then die "doc.txt still exists after its delete: $got"; fi
  got=$(rc lsjson --files-only "t:$vb")
  if has "$got" doc; then die "rclone lsjson still lists doc.txt after its delete: $got"; fi
  # Old versions are listed as doc-vYYYY-MM-DD-HHMMSS-mmm.txt, from their LastModified.
  got=$(rc lsjson --s3-versions --files-only "t:$vb" |
    python3 -c 'import json,sys; [print(e["Path"], e["Size"]) for e in json.load(sys.stdin)]' |
    LC_ALL=C sort)
  echo "versions:"
  echo "$got"
  mapfile -t names < <(cut -d' ' -f1 <<<"$got")
  [ "${#names[@]}" = 3 ] || die "rclone lsjson --s3-versions lists ${#names[@]} files, want 3: $(echo $got)"
  for i in 1 2 3; do
    [[ "${names[i - 1]}" =~ ^doc-v[0-9]{4}-[0-9]{2}-[0-9]{2}-[0-9]{6}-[0-9]{3}\.txt$ ]] ||
      die "version $i is listed as '${names[i - 1]}', want doc-vYYYY-MM-DD-HHMMSS-mmm.txt"
    has "$got" "^${names[i - 1]} $((1000 + i))\$" ||
      die "version $i: want size $((1000 + i)) in [$(echo $got)]"
    rc cat --s3-versions "t:$vb/${names[i - 1]}" >"$W/ver/got$i"
    same "$W/ver/got$i" "$W/ver/$i" "rclone cat --s3-versions ${names[i - 1]}"
  done
  # --s3-version-at the third version's time: the key as it was before the delete.
  t=$(sed -E 's/^doc-v(.{10})-(..)(..)(..)-(...)\.txt$/\1T\2:\3:\4.\5Z/' <<<"${names[2]}")
  rc cat --s3-version-at "$t" "t:$vb/doc.txt" >"$W/ver/at"
  same "$W/ver/at" "$W/ver/3" "rclone cat --s3-version-at $t"
  # Restore version 3 over the marker: a server-side copy from its version id.
  run rc copyto --s3-versions "t:$vb/${names[2]}" "t:$vb/doc.txt"
  rc cat "t:$vb/doc.txt" >"$W/ver/back"
  same "$W/ver/back" "$W/ver/3" "doc.txt after restoring version 3"
  got=$(rc lsf --s3-versions "t:$vb" | LC_ALL=C sort)
  [ "$got" = "$(printf '%s\n' doc.txt "${names[@]}" | LC_ALL=C sort)" ] ||
    die "after the restore --s3-versions lists [$(echo $got)], want doc.txt and the 3 old versions"
  run drop_versioned "$vb"
  got=$(rc lsjson --dirs-only "t:")
  if has "$got" "\"$vb\""; then die "bucket $vb still exists after cleanup-hidden and rmdir"; fi
}

# boto3 for what rclone cannot do itself: create a lock bucket with a default retention, and
# remove its history with the governance bypass. $1: create BUCKET | drop BUCKET.
lock_admin() {
  python3 - "$@" <<'PY'
import os, sys, boto3
s3 = boto3.client("s3", endpoint_url=os.environ["S3_ENDPOINT"], region_name=os.environ["AWS_REGION"])
what, bucket = sys.argv[1], sys.argv[2]
if what == "create":
    s3.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    s3.put_object_lock_configuration(Bucket=bucket, ObjectLockConfiguration={
        "ObjectLockEnabled": "Enabled",
        "Rule": {"DefaultRetention": {"Mode": "GOVERNANCE", "Days": 1}}})
else:
    listed = s3.list_object_versions(Bucket=bucket)
    for e in listed.get("Versions", []) + listed.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=e["Key"], VersionId=e["VersionId"],
                         BypassGovernanceRetention=True)
    s3.delete_bucket(Bucket=bucket)
PY
}

# Nightly syncs into an immutable bucket (default GOVERNANCE retention): sync and check work,
# a changed or deleted file keeps its old version (listed with --s3-versions), and rclone's own
# cleanup of old versions is refused while they are retained. Uses $B-x.
object_lock() {
  local lb="$B-x" got tree="$W/locked"
  run lock_admin create "$lb"
  gen "$tree/a.txt" 500
  gen "$tree/b.bin" $((6 * 1024 * 1024 + 1))
  gen "$tree/dir/c.txt" 70
  run rc sync "$tree" "t:$lb"
  run rc check "$tree" "t:$lb"
  sleep 1
  gen "$tree/a.txt" 501
  rm "$tree/dir/c.txt"
  run rc sync "$tree" "t:$lb"
  run rc check "$tree" "t:$lb"
  got=$(rc lsf --s3-versions -R --files-only "t:$lb" | LC_ALL=C sort)
  echo "with versions: $(echo $got)"
  [ "$(wc -l <<<"$got")" = 4 ] ||
    die "want a.txt, b.bin and the old versions of a.txt and dir/c.txt, got [$(echo $got)]"
  has "$got" '^a-v.*\.txt$' || die "no old version of a.txt in [$(echo $got)]"
  has "$got" '^dir/c-v.*\.txt$' || die "no old version of dir/c.txt in [$(echo $got)]"
  if rc backend cleanup-hidden "t:$lb"; then
    got=$(rc lsf --s3-versions -R --files-only "t:$lb" | wc -l)
    [ "$got" = 4 ] || die "cleanup-hidden removed retained versions: $got files left"
  fi
  got=$(rc lsf --s3-versions -R --files-only "t:$lb" | wc -l)
  [ "$got" = 4 ] || die "after cleanup-hidden $got files with versions, want the 4 retained"
  run lock_admin drop "$lb"
}

step setup setup
[ "$failed" = 0 ] || exit 1
step "put/get object" copy
step "check (size+MD5)" check
step "sync directory" sync_dir
step "list objects" lsjson
step "delete object" delete
step "purge bucket" purge
step "object versioning" versioning
# Only left over when the versioning step failed half-way.
drop_versioned "$B-x" >/dev/null 2>&1 || true
step "sync into a lock bucket" object_lock
# Only left over when the lock step failed half-way.
lock_admin drop "$B-x" >/dev/null 2>&1 || true
exit "$failed"
