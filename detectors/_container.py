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


def unpack(
    data: bytes, *, source: str, expected_format: str, max_version: int
) -> tuple[dict[str, Any], dict[str, npt.NDArray[Any]]]:
    try:
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
        h.update(arr.tobytes())
    return h.hexdigest()
