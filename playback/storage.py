"""Recordings, snapshots and exports in an S3-compatible bucket (VMS_STORAGE_URL), keyed by their paths relative to
the recordings root. A bucket that cannot be reached raises StorageUnavailable quickly, so the caller keeps the media
on local disk and tries again later; nothing here waits long or retries for long."""

import logging
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from urllib.parse import urlsplit

import boto3
from boto3.exceptions import S3UploadFailedError
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from botocore.response import StreamingBody
from django.conf import settings

logger = logging.getLogger(__name__)

MiB = 1024 * 1024
CHUNK = 256 * 1024
# Recording minutes and snapshots go up in one PUT; only export files are large enough to be sent in parts.
TRANSFER = TransferConfig(multipart_threshold=64 * MiB, multipart_chunksize=64 * MiB)
DELETE_BATCH = 1000  # the most keys one DeleteObjects takes
# Refused, timed out, or cut before the answer or within its body (the last two): the bucket is not there.
_UNREACHABLE = (
    EndpointConnectionError,
    ConnectTimeoutError,
    ReadTimeoutError,
    ConnectionClosedError,
    ResponseStreamingError,
    IncompleteReadError,
)


class StorageUnavailable(Exception):
    """The bucket did not answer, or answered with a server error: keep the media local and try again later."""


@dataclass
class ObjectRead:
    """An object's body being read: `size` is the whole object's, `length` this read's (a range's) bytes."""

    size: int
    length: int
    etag: str
    body: StreamingBody = field(repr=False)

    def read(self, size: int = -1) -> bytes:
        """Up to `size` bytes (all that is left when negative), as a file's read(): what a FileResponse streams."""
        with _s3_errors("the body"):
            return self.body.read(None if size < 0 else size)

    def chunks(self) -> Iterator[bytes]:
        with _s3_errors("the body"):
            yield from self.body.iter_chunks(CHUNK)

    def close(self) -> None:
        self.body.close()


@contextmanager
def _s3_errors(what: str) -> Iterator[None]:
    """botocore's errors about `what` (a relative path) as this module's: StorageUnavailable, FileNotFoundError,
    ValueError for a range (416)."""
    try:
        yield
    except _UNREACHABLE as exc:
        raise StorageUnavailable(str(exc)) from exc
    except S3UploadFailedError as exc:  # upload_file raises it in place of S3's ClientError, left as its context
        if not isinstance(exc.__context__, ClientError):
            raise
        with _s3_errors(what):
            raise exc.__context__ from None
    except ClientError as exc:
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        if status >= 500:
            raise StorageUnavailable(str(exc)) from exc
        # A missing bucket is a wrong setting, not a missing recording: it stays a ClientError.
        if status == 404 and exc.response["Error"].get("Code") != "NoSuchBucket":
            raise FileNotFoundError(f"No object {what!r} in the bucket.") from exc
        if status == 416:
            raise ValueError(f"The range is not within {what!r}.") from exc
        raise


class Bucket:
    """The bucket and key prefix of an s3://bucket/prefix URL, through one client (boto3 clients are thread-safe)."""

    def __init__(self, url: str, endpoint_url: str) -> None:
        parts = urlsplit(url)
        self.name, self.prefix = parts.netloc, parts.path.strip("/")
        config = Config(
            # A bucket that is down must fail fast: the recorder goes on and the uploader tries again later.
            connect_timeout=2,
            read_timeout=10,
            retries={"mode": "standard", "max_attempts": 2},
            max_pool_connections=32,
            signature_version="s3v4",
            # MinIO, moto, SeaweedFS and Garage serve buckets under the endpoint's path, not as its subdomains.
            s3={"addressing_style": "path"} if endpoint_url else {},
        )
        # botocore itself reads AWS_DEFAULT_REGION but not AWS_REGION; with neither, S3 signs for us-east-1.
        self._client = boto3.client(
            "s3", endpoint_url=endpoint_url or None, region_name=os.environ.get("AWS_REGION") or None, config=config
        )

    def _key(self, relative: str) -> str:
        """The object key of a path relative to the recordings root; a path that could leave the prefix (absolute,
        `..`, `.`, an empty segment, a backslash) is refused: the key must name exactly one file of ours."""
        if "\\" in relative or any(part in ("", ".", "..") for part in relative.split("/")):
            raise ValueError(f"Not a relative media path: {relative!r}")
        return f"{self.prefix}/{relative}" if self.prefix else relative

    def put(self, relative: str, file: Path, content_type: str) -> None:
        with _s3_errors(relative):
            self._client.upload_file(
                str(file), self.name, self._key(relative), ExtraArgs={"ContentType": content_type}, Config=TRANSFER
            )

    def get(self, relative: str, first: int | None = None, last: int | None = None) -> ObjectRead:
        """The object, or the bytes `first`..`last` (inclusive) of it; as in HTTP, no `first` means the last `last`
        bytes and no `last` means to the end. FileNotFoundError when it is missing; ValueError when the range lies
        outside it."""
        request = {"Bucket": self.name, "Key": self._key(relative)}
        if first is not None or last is not None:
            request["Range"] = f"bytes={'' if first is None else first}-{'' if last is None else last}"
        with _s3_errors(relative):
            answer = self._client.get_object(**request)
        length = answer["ContentLength"]
        size = int(answer["ContentRange"].rpartition("/")[2]) if "ContentRange" in answer else length
        return ObjectRead(size=size, length=length, etag=answer["ETag"], body=answer["Body"])

    def delete(self, relatives: list[str]) -> int:
        """Delete these objects (a missing one counts as deleted, as S3 says); the number deleted."""
        return self._delete([self._key(relative) for relative in relatives])

    def delete_prefix(self, relative_prefix: str) -> int:
        """Delete every object in the folder `relative_prefix` (a camera's, an export's); the number deleted."""
        folder = self._key(relative_prefix.rstrip("/")) + "/"
        deleted = 0
        with _s3_errors(relative_prefix):
            for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=self.name, Prefix=folder):
                deleted += self._delete([item["Key"] for item in page.get("Contents", [])])
        return deleted

    def _delete(self, keys: list[str]) -> int:
        """DeleteObjects in batches; OSError when S3 kept any key (those objects stay: delete them again later)."""
        for start in range(0, len(keys), DELETE_BATCH):
            batch = keys[start : start + DELETE_BATCH]
            with _s3_errors(batch[0]):
                answer = self._client.delete_objects(
                    Bucket=self.name, Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True}
                )
            if errors := answer.get("Errors"):
                first = errors[0]
                raise OSError(
                    f"S3 did not delete {len(errors)} of {len(batch)} objects, e.g. {first['Key']!r}: "
                    f"{first.get('Code')} {first.get('Message')}"
                )
        return len(keys)

    def exists(self, relative: str) -> bool:
        try:
            with _s3_errors(relative):
                self._client.head_object(Bucket=self.name, Key=self._key(relative))
        except FileNotFoundError:
            return False
        return True

    def presigned_url(self, relative: str, ttl_s: int) -> str:
        """A URL that GETs the object without credentials for `ttl_s` seconds (signed here: no request is made)."""
        return self._client.generate_presigned_url(
            "get_object", Params={"Bucket": self.name, "Key": self._key(relative)}, ExpiresIn=ttl_s
        )


def read_range(relative: str, offset: int, size: int) -> Iterator[bytes]:
    """`size` bytes at `offset` of a stored file (an object's parts): from this machine's disk when it holds the file,
    else by one ranged GET from the bucket. FileNotFoundError when neither has it."""
    try:
        data = (settings.VMS_RECORDINGS_ROOT / relative).open("rb")
    except FileNotFoundError:
        if (found := bucket()) is None:
            raise
        read = found.get(relative, offset, offset + size - 1)
        try:
            yield from read.chunks()
        finally:
            read.close()
        return
    with data:
        data.seek(offset)
        while size and (block := data.read(min(size, MiB))):
            size -= len(block)
            yield block


def bucket() -> Bucket | None:
    """The configured bucket, None when media stays on local disk only (VMS_STORAGE_URL empty)."""
    if not settings.VMS_STORAGE_URL:
        return None
    # Per process: a client's pooled connections must not be shared by the processes a worker forks.
    return _bucket(settings.VMS_STORAGE_URL, settings.VMS_S3_ENDPOINT_URL, os.getpid())


@cache
def _bucket(url: str, endpoint_url: str, pid: int) -> Bucket:
    return Bucket(url, endpoint_url)


_uploads = ThreadPoolExecutor(max_workers=2, thread_name_prefix="bucket upload")


def upload_soon(relative: str, file: Path, content_type: str) -> None:
    """Copy a new file of the recordings root (an event snapshot) to the bucket in the background, then take it off
    this disk; while the bucket cannot take it, it stays here (logged), and this machine's web serves it."""
    if (found := bucket()) is not None:
        _uploads.submit(_upload_and_remove, found, relative, file, content_type)


def _upload_and_remove(found: Bucket, relative: str, file: Path, content_type: str) -> None:
    try:
        found.put(relative, file, content_type)
    except (StorageUnavailable, OSError):
        logger.warning("could not upload %s; it stays on this node's disk", relative, exc_info=True)
        return
    file.unlink(missing_ok=True)
