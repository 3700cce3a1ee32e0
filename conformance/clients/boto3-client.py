#!/usr/bin/env python3
"""boto3, its usual workflow: upload_file and download_file of a ~20 MiB file through a
TransferConfig with 5 MiB multipart threshold and chunks (4 parts up, ranged parts down),
put_object/get_object, list_objects_v2 through a paginator, an empty object followed by another
PUT on the same connection, delete_object(s), and bucket create/list/delete. Content is compared byte for byte.

Environment and output format: see lib.sh next to this file (RESULT|pass|secs|row| lines).
Not named boto3.py: Python puts the script's directory first on sys.path, so that name would
shadow the boto3 package.
"""

import hashlib
import os
import sys
import time
import traceback

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config

MIB = 1024 * 1024
endpoint = os.environ["S3_ENDPOINT"]
bucket = os.environ["CONFORMANCE_BUCKET"]
work = os.environ["CONFORMANCE_WORKDIR"]
region = os.environ.get("AWS_REGION") or "us-east-1"
s3 = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                  config=Config(s3={"addressing_style": "path"}))
transfer = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
failed = False


class Mismatch(Exception):
    pass


def check(cond, message):
    if not cond:
        raise Mismatch(message)


def step(row, fn):
    global failed
    print(f"--- {row}", flush=True)
    start = time.time()
    try:
        fn()
        print(f"RESULT|pass|{time.time() - start:.1f}|{row}|", flush=True)
        return True
    except Exception as e:  # every failure is a result, not a crash
        failed = True
        if not isinstance(e, Mismatch):
            traceback.print_exc(file=sys.stdout)
        print(f"CHECK FAILED: {e}")
        msg = str(e).replace("\n", " ")
        print(f"RESULT|fail|{time.time() - start:.1f}|{row}|{type(e).__name__}: {msg}", flush=True)
        return False


def write_random(path, size):
    with open(path, "wb") as f:
        f.write(os.urandom(size))


def md5_file(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(MIB), b""):
            h.update(block)
    return h.hexdigest()


big = os.path.join(work, "big.bin")
big_down = os.path.join(work, "big.down")


def setup():
    print(f"boto3 {boto3.__version__}")
    s3.create_bucket(Bucket=bucket)
    write_random(big, 20 * MIB + 12345)


def multipart():
    s3.upload_file(big, bucket, "dir/big.bin", Config=transfer)
    head = s3.head_object(Bucket=bucket, Key="dir/big.bin")
    print(f"head: {head['ContentLength']} bytes, ETag {head['ETag']}")
    check(head["ContentLength"] == os.path.getsize(big), f"ContentLength {head['ContentLength']}")
    check(head["ETag"].strip('"').endswith("-5"), f"ETag {head['ETag']} is not a 5-part multipart ETag")


def put_get():
    s3.download_file(bucket, "dir/big.bin", big_down, Config=transfer)
    check(md5_file(big_down) == md5_file(big), "download_file returned different bytes")
    body = os.urandom(3000)
    put = s3.put_object(Bucket=bucket, Key="small obj+1.txt", Body=body, Metadata={"colour": "blue"})
    check(put["ETag"] == f'"{hashlib.md5(body).hexdigest()}"', f"put_object ETag {put['ETag']}")
    got = s3.get_object(Bucket=bucket, Key="small obj+1.txt")
    check(got["Body"].read() == body, "get_object returned different bytes")
    check(got["Metadata"] == {"colour": "blue"}, f"metadata {got['Metadata']}")


def empty_then_put():
    # botocore sends `Expect: 100-continue` with every put_object body, even an empty one. A server
    # may answer an empty body without a 100 Continue (RFC 9110 allows it), but botocore then keeps
    # a stale response parser on that keep-alive connection and the *next* request on it stalls
    # until its read timeout. An empty object (e.g. a "dir/" marker) is common: the pair must be
    # quick. Own client with a short read timeout, so a stall costs seconds, not minutes.
    quick = boto3.client("s3", endpoint_url=endpoint, region_name=region,
                         config=Config(s3={"addressing_style": "path"}, read_timeout=5))
    try:
        start = time.time()
        quick.put_object(Bucket=bucket, Key="marker/", Body=b"")
        quick.put_object(Bucket=bucket, Key="after-marker", Body=b"next")
        took = time.time() - start
        check(took < 2.5, f"an empty put_object then a put_object on the same connection took {took:.1f}s "
                          "(botocore stalled until its read timeout: the empty PUT was answered without "
                          "`100 Continue` on a kept-alive connection)")
        check(quick.get_object(Bucket=bucket, Key="after-marker")["Body"].read() == b"next", "second object")
    finally:
        for key in ("marker/", "after-marker"):
            s3.delete_object(Bucket=bucket, Key=key)


def list_objects():
    for i in range(12):
        s3.put_object(Bucket=bucket, Key=f"many/{i:02d}", Body=b"x" * (i + 1))
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, PaginationConfig={"PageSize": 5}):
        keys += [(o["Key"], o["Size"]) for o in page.get("Contents", [])]
    want = sorted([("dir/big.bin", os.path.getsize(big)), ("small obj+1.txt", 3000)]
                  + [(f"many/{i:02d}", i + 1) for i in range(12)])
    check(keys == want, f"paginated listing {keys}")
    top = s3.list_objects_v2(Bucket=bucket, Delimiter="/")
    prefixes = [p["Prefix"] for p in top.get("CommonPrefixes", [])]
    check(prefixes == ["dir/", "many/"], f"common prefixes {prefixes}")


def delete():
    s3.delete_object(Bucket=bucket, Key="small obj+1.txt")
    out = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": f"many/{i:02d}"} for i in range(12)]
                                                   + [{"Key": "dir/big.bin"}]})
    check(not out.get("Errors"), f"delete_objects errors {out.get('Errors')}")
    left = s3.list_objects_v2(Bucket=bucket).get("Contents", [])
    check(left == [], f"objects left: {[o['Key'] for o in left]}")


def bucket_lifecycle():
    other = bucket + "-x"
    s3.create_bucket(Bucket=other)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check(other in names, f"{other} not in list_buckets")
    s3.delete_bucket(Bucket=other)
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    check(other not in names, f"{other} still listed after delete_bucket")


if not step("setup", setup):
    sys.exit(1)
step("multipart upload", multipart)
step("put/get object", put_get)
step("list objects", list_objects)
step("empty object, then next PUT", empty_then_put)
step("delete object", delete)
step("bucket create/list/delete", bucket_lifecycle)
try:
    s3.delete_bucket(Bucket=bucket)
except Exception:
    pass
sys.exit(1 if failed else 0)
