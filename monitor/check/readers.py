"""One reader for the batch check's files: Parquet, CSV or JSON Lines, or a saved reference profile.

The format is taken from the extension (``.parquet``/``.pq``, ``.csv``/``.txt``, ``.jsonl``/``.ndjson``;
a saved profile, written by ``reference build --out`` or ``ReferenceProfile.save``, is recognised by its
content whatever its name) and the first bytes of the file must agree with it:

- Parquet starts with ``PAR1``; a profile is a zip archive (``PK\\x03\\x04``);
- JSON Lines is text whose first non-blank character is ``{``;
- CSV is text (no NUL byte) that is neither of the above.

A disagreement, an empty file, a file with no row or no column ends in :class:`CheckInputError` naming the
file and what its content looks like, before any parsing error of pandas could say something vaguer.

>>> import tempfile, pathlib
>>> d = pathlib.Path(tempfile.mkdtemp())
>>> _ = (d / "a.csv").write_text("x,c\\n1.5,a\\n2.5,b\\n")
>>> read_table(d / "a.csv").shape
(2, 2)
>>> _ = (d / "b.parquet").write_text("x,c\\n1.5,a\\n")
>>> try:
...     read_table(d / "b.parquet")
... except CheckInputError as exc:
...     print(str(exc).split(d.name)[-1])
/b.parquet: the extension says Parquet but the content is CSV text
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from monitor.check.errors import CheckInputError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["EXTENSIONS", "FORMAT_NAMES", "is_profile", "read_table", "sniff"]

PROFILE_MAGIC: Final = b"PK\x03\x04"
PARQUET_MAGIC: Final = b"PAR1"
EXTENSIONS: Final = {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".txt": "csv",
                     ".jsonl": "jsonl", ".ndjson": "jsonl"}
FORMAT_NAMES: Final = {"parquet": "Parquet", "csv": "CSV text", "jsonl": "JSON Lines", "profile": "a saved profile",
                       "binary": "binary data", "json": "a JSON document (not one object per line)"}
HEAD_BYTES: Final = 4096


def _check_file(path: Path) -> None:
    if not path.exists():
        raise CheckInputError(f"{path}: no such file")
    if not path.is_file():
        raise CheckInputError(f"{path}: not a file")


def sniff(path: Path) -> str:
    """What the content of ``path`` is: ``parquet``, ``profile``, ``jsonl``, ``json``, ``csv`` or ``binary``.

    Raises :class:`CheckInputError` for a missing or empty (only blanks) file.
    """
    _check_file(path)
    with path.open("rb") as fh:
        head = fh.read(HEAD_BYTES)
    if head.startswith(PARQUET_MAGIC):
        return "parquet"
    if head.startswith(PROFILE_MAGIC):
        return "profile"
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if not text:
        raise CheckInputError(f"{path}: empty file")
    if b"\x00" in head:
        return "binary"
    if text.startswith(b"{"):
        return "jsonl"
    if text.startswith(b"["):
        return "json"
    return "csv"


def is_profile(path: Path) -> bool:
    """Whether ``path`` is a saved reference profile (by content)."""
    return sniff(path) == "profile"


def read_table(path: Path, columns: Sequence[str] | None = None, *, progress: bool = False) -> pd.DataFrame:
    """The rows of a Parquet, CSV or JSON Lines file (column names as strings).

    ``columns`` restricts Parquet reads to those present (others are read whole and not trimmed, so a caller
    still sees which are missing); ``progress`` shows a progress bar while a Parquet file is read batch by
    batch. Raises :class:`CheckInputError` naming the file for every problem (see the module docstring).
    """
    import pandas as pd  # the readers' only heavy import (the watcher's config check sniffs without it)

    suffix = path.suffix.lower()
    expected = EXTENSIONS.get(suffix)
    if expected is None:
        _check_file(path)
        raise CheckInputError(f"{path}: unsupported file type {suffix or '(no extension)'!r} "
                              f"(expected {', '.join(EXTENSIONS)})")
    found = sniff(path)
    if found != expected:
        raise CheckInputError(f"{path}: the extension says {FORMAT_NAMES[expected]} but the content is "
                              f"{FORMAT_NAMES[found]}")
    try:
        if expected == "parquet":
            frame = _read_parquet(path, columns, progress)
        elif expected == "csv":
            frame = pd.read_csv(path, float_precision="round_trip")  # floats exactly as written
        else:
            frame = pd.read_json(path, lines=True, orient="records", precise_float=True)
    except CheckInputError:
        raise
    except (OSError, ValueError, ImportError, pd.errors.ParserError) as exc:
        reason = " ".join(str(exc).split())
        raise CheckInputError(f"{path}: unreadable {FORMAT_NAMES[expected]}: {type(exc).__name__}: {reason}") from exc
    if frame.shape[1] == 0 or len(frame) == 0:
        raise CheckInputError(f"{path}: no rows" if frame.shape[1] else f"{path}: no columns")
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_parquet(path: Path, columns: Sequence[str] | None, progress: bool) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq
    from tqdm import tqdm

    parquet = pq.ParquetFile(path)
    available = parquet.schema_arrow.names
    wanted = None if columns is None else [c for c in available if c in set(columns)]
    batches: list[Any] = []
    bar = tqdm(total=parquet.metadata.num_rows, unit="row", desc=f"reading {path.name}", disable=not progress)
    try:
        for batch in parquet.iter_batches(batch_size=65_536, columns=wanted):
            batches.append(batch)
            bar.update(batch.num_rows)
    finally:
        bar.close()
    schema = parquet.schema_arrow if wanted is None else pa.schema([parquet.schema_arrow.field(c) for c in wanted])
    return pa.Table.from_batches(batches, schema=schema).to_pandas()
