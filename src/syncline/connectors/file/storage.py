"""Where the file destination's files live: a local folder, ``s3://bucket/prefix`` or
``gs://bucket/prefix``, through pyarrow's filesystems.

Every file is written whole or not at all. Locally: under a temporary name, fsynced, renamed.
In object storage the file is built in memory and sent as one object; S3 and GCS make an
object visible only when its upload completes, so a reader never sees part of one.
"""

from __future__ import annotations

import os
import posixpath
import uuid
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from syncline.plugin.errors import WriteError

SCHEMES = ("s3://", "gs://")


def is_object_storage(directory: str) -> bool:
    return directory.startswith(SCHEMES)


def _split_endpoint(url: str) -> tuple[str, str]:
    """(scheme, host:port) of an endpoint URL such as http://127.0.0.1:5000."""
    scheme, _, rest = url.partition("://")
    if not rest:
        return "https", url.rstrip("/")
    return scheme, rest.rstrip("/")


def _s3(endpoint_url: str) -> pafs.FileSystem:
    # boto3's variables, so one environment serves the AWS source and this destination.
    endpoint = (
        endpoint_url
        or os.environ.get("AWS_ENDPOINT_URL_S3", "")
        or os.environ.get("AWS_ENDPOINT_URL", "")
    )
    region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or None
    if not endpoint:
        return pafs.S3FileSystem(region=region)
    scheme, host = _split_endpoint(endpoint)
    return pafs.S3FileSystem(region=region or "us-east-1", endpoint_override=host, scheme=scheme)


def _gcs(endpoint_url: str) -> pafs.FileSystem:
    # STORAGE_EMULATOR_HOST is what Google's storage clients read for an emulator.
    endpoint = endpoint_url or os.environ.get("STORAGE_EMULATOR_HOST", "")
    if not endpoint:
        return pafs.GcsFileSystem()
    scheme, host = _split_endpoint(endpoint)
    return pafs.GcsFileSystem(anonymous=True, endpoint_override=host, scheme=scheme)


class Store:
    """A folder of files on a local disk or in a bucket."""

    def __init__(self, directory: str, endpoint_url: str = "") -> None:
        self.directory = directory
        self.local = not is_object_storage(directory)
        if self.local:
            self.fs: pafs.FileSystem = pafs.LocalFileSystem()
            self.root = str(Path(directory).resolve())
        else:
            scheme, _, rest = directory.partition("://")
            self.root = posixpath.normpath(rest).strip("/")
            if not self.root or self.root == ".":
                raise WriteError(f"directory {directory} names no bucket")
            self.fs = _s3(endpoint_url) if scheme == "s3" else _gcs(endpoint_url)

    def url(self, path: str) -> str:
        """How to show ``path`` (a path returned by ``join``) to a user."""
        return path if self.local else self.directory.split("://")[0] + "://" + path

    def join(self, rel: str) -> str:
        """``rel`` under the root; a path that would leave the root is refused."""
        path = posixpath.normpath(posixpath.join(self.root, rel))
        if not path.startswith(self.root.rstrip("/") + "/"):
            raise WriteError(f"path {rel} leaves the directory {self.directory}")
        return path

    def create_root(self) -> None:
        if self.local:
            Path(self.root).mkdir(parents=True, exist_ok=True)

    def put(self, path: str, data: pa.Buffer) -> None:
        """Write one complete file at ``path``."""
        try:
            if self.local:
                _put_local(Path(path), data)
                return
            with self.fs.open_output_stream(path) as out:
                out.write(data)
        except OSError as e:
            raise WriteError(f"cannot write {self.url(path)}: {e}") from e

    def probe(self) -> None:
        path = self.join(f".syncline-probe-{uuid.uuid4().hex}")
        self.put(path, pa.py_buffer(b"ok"))
        self.fs.delete_file(path)

    def files(self, folder: str, suffix: str) -> list[str]:
        """Every file under ``folder`` (relative to the root) ending in ``suffix``, sorted."""
        selector = pafs.FileSelector(self.join(folder), recursive=True, allow_not_found=True)
        infos = self.fs.get_file_info(selector)
        return sorted(
            i.path
            for i in infos
            if i.type == pafs.FileType.File
            and i.path.endswith(suffix)
            and not posixpath.basename(i.path).startswith(".")
        )

    def read(self, path: str) -> pa.Buffer:
        with self.fs.open_input_file(path) as f:
            return f.read_buffer()


def _put_local(path: Path, data: pa.Buffer) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with tmp.open("wb") as f:
            f.write(memoryview(data))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)  # a partial file must not stay behind (disk full, ...)
        raise
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)
