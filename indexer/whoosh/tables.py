"""Array files beside a segment's postings: named arrays written once, when the segment is, and
memory-mapped by every process that searches it.

A file holds the 8-byte mark `TSB1`, the length of a JSON header, the header (each array's
dtype, shape and place; and `meta`, what the writer wants said about them), then the arrays,
each starting on an 8-byte boundary. A reader maps the file and takes each array as a numpy
view of the map, so nothing is read until it is used and every server worker shares one copy
through the page cache. The file is named after its segment (`segment.make_filename`), so
Whoosh deletes it with the segment when a merge or a rebuild drops it. Which file holds what is
the index folder's owner's to say (`indexer.index.layout`); this module reads and writes them.
"""

from __future__ import annotations

import json
import mmap
import os
import struct
from typing import Any

import numpy as np
from whoosh.reading import SegmentReader

from ..errors import unreadable_index

MAGIC = b"TSB1\0\0\0\0"
_LENGTH = struct.Struct("<Q")
_ALIGN = 8


def write_arrays(storage, segment, ext: str, arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> None:
    """Write `arrays` (and `meta`, JSON-ready) as segment `segment`'s `ext` file in `storage`."""
    places, at = {}, 0
    for name, array in arrays.items():
        places[name] = [array.dtype.str, list(array.shape), at]
        at += -(-array.nbytes // _ALIGN) * _ALIGN
    header = json.dumps({"arrays": places, "meta": meta}, separators=(",", ":")).encode("utf-8")
    header += b" " * (-(len(MAGIC) + _LENGTH.size + len(header)) % _ALIGN)
    with segment.create_file(storage, ext) as handle:
        handle.write(MAGIC + _LENGTH.pack(len(header)) + header)
        for array in arrays.values():
            data = np.ascontiguousarray(array).tobytes()
            handle.write(data + b"\0" * (-len(data) % _ALIGN))


def read_arrays(leaf, ext: str) -> tuple[dict[str, np.ndarray], dict[str, Any]] | None:
    """Segment reader `leaf`'s `ext` file, its arrays as views of a map of it (read whole where
    the storage is not a folder), and its meta; None when the segment has no such file (it was
    written before the file was). Raises IndexUnreadableError for a damaged file."""
    storage, segment = leaf._storage, leaf.segment()
    name = segment.make_filename(ext)
    if not storage.file_exists(name):
        return None
    folder = getattr(storage, "folder", None)
    if folder is not None:
        with open(os.path.join(folder, name), "rb") as handle:
            buffer: Any = mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ)
    else:
        with storage.open_file(name) as handle:
            buffer = handle.read()
    try:
        if bytes(buffer[:len(MAGIC)]) != MAGIC:
            raise ValueError("no array file mark")
        (length,) = _LENGTH.unpack_from(buffer, len(MAGIC))
        start = len(MAGIC) + _LENGTH.size
        header = json.loads(bytes(buffer[start:start + length]))
        base = start + length
        arrays = {key: np.frombuffer(buffer, dtype=np.dtype(dtype), count=int(np.prod(shape)),
                                     offset=base + at).reshape(shape)
                  for key, (dtype, shape, at) in header["arrays"].items()}
    except (ValueError, KeyError, TypeError) as error:
        root = os.path.dirname(folder) if folder else "this index"
        raise unreadable_index(root, f"{name} is not a trialsearch array file ({error})") from None
    return arrays, header["meta"]


def open_segment(storage, schema, segment) -> SegmentReader:
    """A reader of `segment` in `storage` alone (a segment just written, before any table of
    contents lists it); close it after use."""
    return SegmentReader(storage, schema, segment)
