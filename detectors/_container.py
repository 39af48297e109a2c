"""The file format shared by profiles and window states: an ``.npz`` (ZIP) archive, no pickle.

Members: ``header.npy`` — a uint8 array holding UTF-8 JSON with at least ``format`` (the object kind, e.g.
``"driftwarden-profile"``) and ``format_version`` (an int); every other member is a plain numeric numpy
array named in the header. Loading uses ``allow_pickle=False``, so a foreign file can at worst be
rejected, never executed. Any failure to read becomes :class:`ProfileFormatError` naming the source.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import re
import zipfile
from collections.abc import Mapping
from typing import Any

import numpy as np
import numpy.typing as npt

from detectors.errors import ProfileFormatError

__all__ = ["digest", "pack", "unpack"]

HEADER = "header"


def pack(header: Mapping[str, Any], arrays: Mapping[str, npt.NDArray[Any]]) -> bytes:
    buf = io.BytesIO()
    payload = {HEADER: np.frombuffer(json.dumps(header, sort_keys=True).encode(), dtype=np.uint8)}
    for key, arr in arrays.items():
        if arr.dtype == object:
            raise TypeError(f"array {key!r} has dtype object; only numeric arrays are stored")
        payload[key] = arr
    np.savez(buf, allow_pickle=False, **payload)
    return buf.getvalue()


# the header np.save writes for a C-ordered numeric array: shape "()", "(n,)" or "(n, m, ...)"
_NPY_HEADER = re.compile(
    r"\{'descr': '([<>|=][biuf][0-9]+)', 'fortran_order': False, 'shape': \((|[0-9]+,|[0-9]+(?:, [0-9]+)+)\), \} *\n"
)


def _plain_member(raw: bytes) -> npt.NDArray[Any] | None:
    """The array of one ``.npy`` member as ``np.save`` writes a plain numeric array (a writable copy, as
    ``np.load`` gives), or ``None`` for anything else (then ``np.load`` reads the archive)."""
    if raw[:6] != b"\x93NUMPY" or len(raw) < 10:
        return None
    if raw[6] == 1:
        start, size = 10, int.from_bytes(raw[8:10], "little")
    elif raw[6] in (2, 3):
        start, size = 12, int.from_bytes(raw[8:12], "little")
    else:
        return None
    match = _NPY_HEADER.fullmatch(raw[start : start + size].decode("latin1"))
    if match is None:
        return None
    dtype = np.dtype(match.group(1))
    shape = tuple(int(n) for n in match.group(2).replace(",", " ").split())
    count = math.prod(shape)
    offset = start + size
    if len(raw) - offset != count * dtype.itemsize:
        return None
    return np.frombuffer(raw, dtype=dtype, count=count, offset=offset).reshape(shape).copy()


def _plain_members(data: bytes) -> dict[str, npt.NDArray[Any]] | None:
    """Every member of an archive of plain numeric ``.npy`` members (what :func:`pack` writes), without
    ``np.load``'s per-member header evaluation; ``None`` when any member is something else."""
    out: dict[str, npt.NDArray[Any]] = {}
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for info in archive.infolist():
            if not info.filename.endswith(".npy") or info.filename[:-4] in out:
                return None
            arr = _plain_member(archive.read(info))
            if arr is None:
                return None
            out[info.filename[:-4]] = arr
    return out


def unpack(
    data: bytes, *, source: str, expected_format: str, max_version: int
) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    try:
        members = _plain_members(data)
    except Exception:  # anything unusual is left to np.load (and its errors)
        members = None
    try:
        if members is not None:
            if HEADER not in members:
                raise ProfileFormatError(source, f"not a {expected_format} file (no header)")
            header = json.loads(bytes(members[HEADER]).decode())
            arrays = {key: arr for key, arr in members.items() if key != HEADER}
        else:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                if HEADER not in npz.files:
                    raise ProfileFormatError(source, f"not a {expected_format} file (no header)")
                header = json.loads(bytes(npz[HEADER]).decode())
                arrays = {key: npz[key] for key in npz.files if key != HEADER}
    except ProfileFormatError:
        raise
    except (zipfile.BadZipFile, ValueError, OSError, EOFError, KeyError, UnicodeDecodeError) as exc:
        raise ProfileFormatError(
            source, f"corrupt or not a {expected_format} file ({type(exc).__name__}: {exc})"
        ) from exc
    if not isinstance(header, dict) or header.get("format") != expected_format:
        found = header.get("format") if isinstance(header, dict) else type(header).__name__
        raise ProfileFormatError(source, f"not a {expected_format} file (format {found!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or not 1 <= version <= max_version:
        raise ProfileFormatError(
            source, f"unsupported {expected_format} format_version {version!r} (max {max_version})"
        )
    return header, arrays


def digest(header: Mapping[str, Any], arrays: Mapping[str, npt.NDArray[Any]]) -> str:
    """BLAKE2b-256 of the canonical JSON header and the arrays (name, dtype, shape, bytes) in name order."""
    h = hashlib.blake2b(json.dumps(header, sort_keys=True).encode(), digest_size=32)
    for key in sorted(arrays):
        arr = np.ascontiguousarray(arrays[key])
        h.update(f"{key}|{arr.dtype.str}|{arr.shape}".encode())
        h.update(arr.data)  # the buffer itself: the bytes of tobytes() without copying them
    return h.hexdigest()
