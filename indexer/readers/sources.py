"""Opening what the user points at: files, folders (recursively), `.gz` files and `.zip`
archives, as a flat stream of `Document`s that decode themselves as strict UTF-8.

Compression is recognised by magic bytes, not by extension, and is undone transparently.
"""

from __future__ import annotations

import gzip
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from ..model import Problem

GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")  # an archive with members / an empty archive
BOM = "\ufeff"
SNIFF_BYTES = 4096


class NotUtf8Error(ValueError):
    """A document holds bytes that are not UTF-8; the message names the first one."""

    def __init__(self, byte: int, offset: int) -> None:
        super().__init__(f"not UTF-8 text (byte 0x{byte:02x} at offset {offset})")


@dataclass(frozen=True)
class Document:
    """One readable byte stream: a file, a `.gz` file's content or a `.zip` member.

    `name` is what problems and `Study.source` show: the path, or `archive.zip!member`.
    """

    name: str
    opener: Callable[[], BinaryIO]

    @contextmanager
    def open(self) -> Iterator[BinaryIO]:
        """A fresh binary stream of the content, gunzipped when it is gzip data."""
        with self.opener() as raw:
            if raw.peek(2)[:2] == GZIP_MAGIC:
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    yield unzipped
            else:
                yield raw

    def head(self) -> str:
        """The first few KB as text, for sniffing the format (BOM removed)."""
        with self.open() as stream:
            data = stream.read(SNIFF_BYTES)
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            # The sample may end in the middle of a multi-byte character; that is not an error.
            truncated = len(data) == SNIFF_BYTES and exc.reason == "unexpected end of data"
            if not truncated:
                raise NotUtf8Error(data[exc.start], exc.start) from None
            text = data[:exc.start].decode("utf-8")
        return text.removeprefix(BOM)

    def lines(self) -> Iterator[tuple[int, str]]:
        """Stream `(line number, line)` pairs, never holding more than one line.

        Raises NotUtf8Error at the first invalid byte (its offset counts from the start).
        """
        offset = 0
        with self.open() as stream:
            for number, raw in enumerate(stream, 1):
                try:
                    line = raw.decode("utf-8")
                except UnicodeDecodeError as exc:
                    raise NotUtf8Error(raw[exc.start], offset + exc.start) from None
                offset += len(raw)
                yield number, line.removeprefix(BOM) if number == 1 else line

    def text(self) -> str:
        """The whole content as text (for formats that are parsed as one document)."""
        with self.open() as stream:
            data = stream.read()
        try:
            return data.decode("utf-8").removeprefix(BOM)
        except UnicodeDecodeError as exc:
            raise NotUtf8Error(data[exc.start], exc.start) from None

    def problem(self, reason: str, location: str = "") -> Problem:
        """A problem with this document (or a place in it)."""
        return Problem(self.name, location, reason)

    def ignored(self, looks_like: str) -> Problem:
        """The one problem for a readable document that holds no study records."""
        return Problem(self.name, "", f"not a study record file (looks like {looks_like}); ignored",
                       kind="ignored")


def iter_documents(paths: Iterable[str | os.PathLike]) -> Iterator[Document | Problem]:
    """Expand paths into documents: folders recursively in sorted order (hidden entries
    skipped), zip archives member by member. A path that does not exist, an empty folder or an
    unreadable archive becomes a Problem instead."""
    for raw_path in paths:
        path = Path(raw_path)
        if path.is_dir():
            files = _folder_files(path)
            if not files:
                yield Problem(str(path), "", "empty folder (no files to read)")
            for file in files:
                yield from _file_documents(file)
        elif path.is_file():
            yield from _file_documents(path)
        else:
            yield Problem(str(path), "", "no such file or folder")


def _hidden(name: str) -> bool:
    return name.startswith(".") or name == "__MACOSX"


def _folder_files(root: Path) -> list[Path]:
    found = []
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if not _hidden(d)]  # pruning here keeps os.walk out of them
        found.extend(Path(folder, f) for f in files if not _hidden(f))
    return sorted(found, key=lambda p: p.relative_to(root).parts)


def _file_documents(path: Path) -> Iterator[Document | Problem]:
    try:
        with open(path, "rb") as stream:
            magic = stream.read(4)
    except OSError as exc:
        yield Problem(str(path), "", f"cannot open: {exc.strerror or exc}")
        return
    if magic in ZIP_MAGICS:
        yield from _zip_documents(path)
    else:
        yield Document(str(path), lambda: open(path, "rb"))  # noqa: SIM115 - the reader closes it


def _zip_documents(path: Path) -> Iterator[Document | Problem]:
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as exc:
        yield Problem(str(path), "", f"unreadable zip archive: {exc}")
        return
    with archive:
        members = sorted(
            (info for info in archive.infolist()
             if not info.is_dir() and not any(_hidden(part) for part in info.filename.split("/"))),
            key=lambda info: info.filename,
        )
        if not members:
            yield Problem(str(path), "", "empty zip archive (no files to read)")
        for info in members:
            # The archive stays open while the caller reads each member in turn.
            yield Document(f"{path}!{info.filename}", lambda info=info: archive.open(info))
