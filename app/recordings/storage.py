"""Where recording files live: one small interface, local files by default or an S3-compatible bucket.

Keys are relative paths like `<org>/<recording>/visitor.webm`; the backends never see anything else.
"""

import shutil
from collections.abc import Iterator
from pathlib import Path

from flask import current_app

READ_BLOCK = 256 * 1024


class LocalStorage:
    """Files under RECORDINGS_DIR (instance/recordings/ by default)."""

    def __init__(self, root: str):
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        # keys are built by us, but a key must never escape the root all the same
        if self.root.resolve() not in path.parents:
            raise ValueError(f"bad storage key {key!r}")
        return path

    def put_bytes(self, key: str, data: bytes) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(path.suffix + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)  # readers never see half a file

    def put_file(self, key: str, source: str) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, path)

    def get_bytes(self, key: str) -> bytes:
        return self._path(key).read_bytes()

    def download(self, key: str, target: str) -> None:
        shutil.copyfile(self._path(key), target)

    def size(self, key: str) -> int | None:
        path = self._path(key)
        return path.stat().st_size if path.exists() else None

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        with self._path(key).open("rb") as f:
            f.seek(start)
            while length > 0:
                block = f.read(min(READ_BLOCK, length))
                if not block:
                    return
                length -= len(block)
                yield block

    def delete_prefix(self, prefix: str) -> None:
        path = self._path(prefix.rstrip("/"))
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()


class S3Storage:
    """Any S3-compatible bucket (AWS, MinIO, R2, …) through boto3; endpoint and keys are config."""

    def __init__(self, config: dict):
        import boto3

        self.bucket = config["RECORDINGS_S3_BUCKET"]
        self.prefix = config["RECORDINGS_S3_PREFIX"]
        self.client = boto3.client(
            "s3", endpoint_url=config["RECORDINGS_S3_ENDPOINT_URL"],
            region_name=config["RECORDINGS_S3_REGION"],
            aws_access_key_id=config["RECORDINGS_S3_ACCESS_KEY_ID"],
            aws_secret_access_key=config["RECORDINGS_S3_SECRET_ACCESS_KEY"],
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    def put_bytes(self, key: str, data: bytes) -> None:
        self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def put_file(self, key: str, source: str) -> None:
        self.client.upload_file(source, self.bucket, self._key(key))

    def get_bytes(self, key: str) -> bytes:
        return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def download(self, key: str, target: str) -> None:
        self.client.download_file(self.bucket, self._key(key), target)

    def size(self, key: str) -> int | None:
        from botocore.exceptions import ClientError

        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))["ContentLength"]
        except ClientError as error:
            if error.response["Error"]["Code"] in ("404", "NoSuchKey"):
                return None
            raise

    def read_range(self, key: str, start: int, length: int) -> Iterator[bytes]:
        if length <= 0:
            return
        body = self.client.get_object(
            Bucket=self.bucket, Key=self._key(key), Range=f"bytes={start}-{start + length - 1}"
        )["Body"]
        yield from body.iter_chunks(READ_BLOCK)

    def delete_prefix(self, prefix: str) -> None:
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix)):
            objects = [{"Key": item["Key"]} for item in page.get("Contents", [])]
            if objects:
                self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": objects})


def get_storage():
    """The configured backend, built once per app."""
    app = current_app
    if "recordings_storage" not in app.extensions:
        if app.config["RECORDINGS_S3_BUCKET"]:
            app.extensions["recordings_storage"] = S3Storage(app.config)
        else:
            app.extensions["recordings_storage"] = LocalStorage(app.config["RECORDINGS_DIR"])
    return app.extensions["recordings_storage"]
