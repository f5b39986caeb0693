"""Official Alexandria 3D PBE files: download with an integrity check, and stream their entries.

Each file is a bzip2-compressed `{"entries": [...]}` of pymatgen `ComputedStructureEntry` dicts
(hundreds of MB compressed), so entries are parsed one at a time with ijson and memory stays
flat however many files are read.
"""

import bz2
import hashlib
import http.client
import logging
import os
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import ijson
from pymatgen.core import Structure

from matfuse import __version__
from matfuse.sources import Entry, InvalidEntry

log = logging.getLogger(__name__)

LOCAL_FILES_HINT = (
    "to use local copies instead, list them under the config key data.alexandria.local_files, "
    "or set the environment variable MATFUSE_ALEXANDRIA_FILES to their paths or globs "
    "separated by ':'"
)
CHUNK = 1 << 20
REPORT_EVERY = 100 * CHUNK
# Python's json writes NaN/Infinity, which strict JSON parsers (ijson) refuse. Outside strings
# such a token follows one of `:[,` or whitespace and precedes one of `,]}` or whitespace.
NON_FINITE = re.compile(rb"(?:(?<=[\s:,\[])|^)(?:-?Infinity|NaN)(?=[\s,\]}])")


class DownloadError(RuntimeError):
    """A file that could not be fetched or failed its integrity check; nothing is left behind."""


def download(url: str, dest, sha256: str | None = None, timeout: float = 10.0) -> str:
    """Fetch `url` to `dest` atomically, verify it, write `dest.sha256`; return the sha256.

    Verified: the byte count against Content-Length (when sent), the sha256 against `sha256`
    (when config pins one), and the content: the whole bz2 stream decompresses and parses as an
    Alexandria `{"entries": [...]}` file. `timeout` bounds connecting and each read, so an
    unreachable server fails in seconds, with a message naming the local-files alternatives.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    try:
        digest = _fetch(url, part, timeout)
        if sha256 and digest != sha256.lower():
            raise DownloadError(
                f"{url}: sha256 {digest} differs from the pinned {sha256} "
                f"(data.alexandria.sha256[{dest.name!r}]); the file was not kept"
            )
        try:
            n_entries = check_file(part)
        except ValueError as err:
            raise DownloadError(f"{url}: {err}; the file was not kept") from err
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    os.replace(part, dest)
    Path(f"{dest}.sha256").write_text(f"{digest}  {dest.name}\n")
    log.info(
        "%s: %d entries, sha256 %s (pin it as data.alexandria.sha256[%r] to check later downloads)",
        dest,
        n_entries,
        digest,
        dest.name,
    )
    return digest


def _fetch(url: str, part: Path, timeout: float) -> str:
    """Stream `url` into `part`; return its sha256. Errors say what failed and what to do."""
    request = urllib.request.Request(url, headers={"User-Agent": f"matfuse/{__version__}"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as err:
        raise DownloadError(
            f"{url}: HTTP {err.code} {err.reason} (check data.alexandria.base_url, "
            f"file_pattern and indices); {LOCAL_FILES_HINT}"
        ) from err
    except (urllib.error.URLError, OSError) as err:
        reason = getattr(err, "reason", err)
        raise DownloadError(f"cannot reach {url} ({reason}); {LOCAL_FILES_HINT}") from err
    digest = hashlib.sha256()
    size = 0
    next_report = REPORT_EVERY
    announced = response.headers.get("Content-Length")
    log.info("downloading %s (%s bytes announced) to %s", url, announced or "no size", part)
    with response, open(part, "wb") as out:
        try:
            while chunk := response.read(CHUNK):
                out.write(chunk)
                digest.update(chunk)
                size += len(chunk)
                if size >= next_report:
                    log.info("%s: %d MiB", part.name, size // CHUNK)
                    next_report += REPORT_EVERY
        except (OSError, http.client.HTTPException) as err:
            raise DownloadError(f"{url}: transfer failed after {size} bytes ({err})") from err
    if announced is not None and size != int(announced):
        raise DownloadError(
            f"{url}: received {size} bytes but the server announced {announced}: "
            "the transfer was cut short"
        )
    return digest.hexdigest()


def check_file(path) -> int:
    """Parse a whole Alexandria file as a stream; return its entry count, or raise ValueError."""
    n_entries = 0
    for entry in iter_entries(path):
        if n_entries == 0 and not (
            isinstance(entry, dict) and "structure" in entry and "data" in entry
        ):
            raise ValueError(
                "not an Alexandria file: its first entry has no 'structure' and 'data'"
            )
        n_entries += 1
    if n_entries == 0:
        raise ValueError('not an Alexandria file: no {"entries": [...]} with entries in it')
    return n_entries


class _NonFiniteAsNull:
    """A binary reader that turns the NaN/Infinity tokens Python's json writes into `null`.

    It cuts the stream after the last comma of each chunk, so no token straddles two chunks and
    the start of the next chunk follows a comma. Inside a string a match only changes text.
    """

    def __init__(self, stream):
        self._stream = stream
        self._carry = b""

    def read(self, size: int = -1) -> bytes:
        if size == 0:
            return b""
        while chunk := self._stream.read(1 << 16):
            buffer = self._carry + chunk
            cut = buffer.rfind(b",") + 1
            if cut:
                self._carry = buffer[cut:]
                return _non_finite_as_null(buffer[:cut])
            self._carry = buffer
        rest, self._carry = self._carry, b""
        return _non_finite_as_null(rest)


def _non_finite_as_null(chunk: bytes) -> bytes:
    if b"NaN" in chunk or b"Infinity" in chunk:
        return NON_FINITE.sub(b"null", chunk)
    return chunk


def iter_entries(path) -> Iterator[dict]:
    """Stream the entries of a bzip2-compressed (or plain) `{"entries": [...]}` JSON file.

    Compression is told by the content (bzip2's `BZh` magic), not the name. NaN and Infinity
    values arrive as None (strict JSON has no such numbers), so a target computed from one is
    rejected like a missing value.
    """
    with open(path, "rb") as head:
        compressed = head.read(3) == b"BZh"
    opener = bz2.open if compressed else open
    try:
        with opener(path, "rb") as stream:
            yield from ijson.items(_NonFiniteAsNull(stream), "entries.item", use_float=True)
    except (OSError, EOFError, ijson.JSONError) as err:
        detail = " ".join(str(err).split())  # yajl's messages span lines
        raise ValueError(
            f"{path}: corrupt or truncated file ({type(err).__name__}: {detail})"
        ) from err


class AlexandriaSource:
    """Entries of Alexandria files: the id is `data.mat_id`, the fields are `data`."""

    records = staticmethod(iter_entries)

    @staticmethod
    def record_id(record) -> str:
        data = record.get("data") if isinstance(record, dict) else None
        mat_id = data.get("mat_id") if isinstance(data, dict) else None
        if not isinstance(mat_id, str) or not mat_id:
            raise InvalidEntry("entry", "no data.mat_id")
        return mat_id

    @staticmethod
    def to_entry(record, mat_id: str) -> Entry:
        if not isinstance(record.get("structure"), dict):
            raise InvalidEntry("structure", "no structure")
        try:
            structure = Structure.from_dict(record["structure"])
        except Exception as err:
            raise InvalidEntry(
                "structure", f"unparsable structure ({type(err).__name__}: {err})"
            ) from err
        data = record["data"]
        if data.get("nsites") is not None and data["nsites"] != len(structure):
            raise InvalidEntry(
                "structure",
                f"data.nsites is {data['nsites']} but the structure has {len(structure)} sites",
            )
        return Entry(mat_id, structure, dict(data))
