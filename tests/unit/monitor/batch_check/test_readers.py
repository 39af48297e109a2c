"""Reference and current as Parquet, CSV, JSON Lines or a saved profile; bad input: one line, exit 2."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from monitor.check import CheckInputError, read_table
from monitor.check.readers import sniff
from monitor.cli import app as cli_app

from .conftest import issue_frames

Run = Callable[..., tuple[int, str, str]]


def _write(frame: pd.DataFrame, path: Path) -> Path:
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    elif path.suffix == ".csv":
        frame.to_csv(path, index=False)
    else:  # json.dumps writes floats in shortest round-trip form (pandas' to_json keeps 10 digits)
        rows = frame.astype(object).where(frame.notna(), None).to_dict("records")
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return path


@pytest.mark.parametrize("ref_ext", [".parquet", ".csv", ".jsonl"])
@pytest.mark.parametrize("cur_ext", [".parquet", ".csv", ".jsonl"])
def test_every_format_gives_the_same_verdicts(run: Run, tmp_path: Path, ref_ext: str, cur_ext: str) -> None:
    ref, cur = issue_frames(n=1500)
    code, out, err = run(_write(ref, tmp_path / f"ref{ref_ext}"), _write(cur, tmp_path / f"cur{cur_ext}"),
                         "--format", "json", "--fail-on", "column")
    assert code == 1, err
    data = json.loads(out)
    assert [(c["name"], c["drifted"]) for c in data["columns"]] == [
        ("age", True), ("income", False), ("city", False), ("score", False)]
    assert [(f["category"], f["column"]) for f in data["findings"]][-1] == ("quality", "income")


def test_read_table_formats_agree(tmp_path: Path) -> None:
    ref, _ = issue_frames(n=200)
    frames = [read_table(_write(ref, tmp_path / f"r{ext}")) for ext in (".parquet", ".csv", ".jsonl")]
    for frame in frames[1:]:
        assert list(frame.columns) == list(ref.columns)
        # CSV and JSON print floats in shortest round-trip form: the values come back equal
        pd.testing.assert_frame_equal(frame, frames[0], check_exact=True)


def test_saved_profile_is_a_reference(run: Run, tmp_path: Path) -> None:
    ref, cur = issue_frames(n=1500)
    _write(ref, tmp_path / "train.csv")
    _write(cur, tmp_path / "today.parquet")
    res = CliRunner().invoke(cli_app, ["reference", "build", "m", "--from", str(tmp_path / "train.csv"),
                                       "--out", str(tmp_path / "ref.profile"), "-q"])
    assert res.exit_code == 0 and "profile of m saved to" in res.output, res.output
    from_profile = json.loads(run(tmp_path / "ref.profile", tmp_path / "today.parquet", "--format", "json")[1])
    from_data = json.loads(run(tmp_path / "train.csv", tmp_path / "today.parquet", "--format", "json")[1])
    assert from_profile["profile_hash"] == from_data["profile_hash"]
    assert from_profile["columns"] == from_data["columns"] and from_profile["findings"] == from_data["findings"]


def test_reference_build_reads_jsonl_and_csv(tmp_path: Path) -> None:
    ref, _ = issue_frames(n=300)
    hashes = []
    for ext in (".parquet", ".csv", ".jsonl"):
        res = CliRunner().invoke(cli_app, ["reference", "build", "m", "--from", str(_write(ref, tmp_path / f"t{ext}")),
                                           "--out", str(tmp_path / f"p{ext}.profile"), "-q"])
        assert res.exit_code == 0, res.output
        hashes.append(res.output.split("hash ")[1].split(",")[0])
    assert len(set(hashes)) == 1  # the same rows, the same profile whatever the format


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("csv_as.parquet", b"age,income\n1,2\n", "csv_as.parquet: the extension says Parquet but the content is CSV"),
        ("pq_as.csv", b"PAR1\x00\x00junk", "pq_as.csv: the extension says CSV text but the content is Parquet"),
        ("csv_as.jsonl", b"age,income\n1,2\n", "csv_as.jsonl: the extension says JSON Lines but the content is CSV"),
        ("array.jsonl", b'[{"age": 1}]', "array.jsonl: the extension says JSON Lines but the content is a JSON doc"),
        ("bin.csv", b"a\x00b\x01", "bin.csv: the extension says CSV text but the content is binary data"),
        ("empty.csv", b"", "empty.csv: empty file"),
        ("blank.jsonl", b"\n  \n", "blank.jsonl: empty file"),
        ("header_only.csv", b"age,income,city,score\n", "header_only.csv: no rows"),
        ("broken.jsonl", b'{"age": 1}\n{"age": \n', "broken.jsonl: unreadable JSON Lines"),
        ("data.xlsx", b"x", "data.xlsx: unsupported file type '.xlsx'"),
    ],
)
def test_bad_current_file(run: Run, issue_files: dict[str, Path], tmp_path: Path, name: str, content: bytes,
                          message: str) -> None:
    (tmp_path / name).write_bytes(content)
    code, out, err = run(issue_files["ref"], tmp_path / name)
    assert code == 2 and out == ""
    assert err.startswith("driftwarden: error: ") and message in err and err.count("\n") == 1, err


def test_bad_reference_file(run: Run, issue_files: dict[str, Path], tmp_path: Path) -> None:
    (tmp_path / "ref.parquet").write_text("age\n1\n")
    code, _, err = run(tmp_path / "ref.parquet", issue_files["cur"])
    assert code == 2 and "ref.parquet: the extension says Parquet but the content is CSV text" in err
    code, _, err = run(tmp_path / "nope.csv", issue_files["cur"])
    assert code == 2 and "nope.csv: no such file" in err


def test_missing_column(run: Run, issue_files: dict[str, Path], tmp_path: Path) -> None:
    _, cur = issue_frames(n=300)
    _write(cur.drop(columns=["income"]), tmp_path / "noincome.csv")
    code, _, err = run(issue_files["ref"], tmp_path / "noincome.csv")
    assert code == 2 and "noincome.csv: column 'income' of the reference is absent" in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("column", "values", "message"),
    [
        ("age", lambda n: np.array(["forty", "fifty"] * (n // 2)), "column 'age' is numeric in the reference but "
                                                                  "text here (e.g. 'forty') (reference: ref.csv)"),
        ("city", lambda n: np.linspace(0.5, 99.5, n), "column 'city' is categorical in the reference but numeric "
                                                      "here (e.g. 0.5) (reference: ref.csv)"),
    ],
)
def test_kind_mismatch(run: Run, issue_files: dict[str, Path], tmp_path: Path, column: str, values, message: str
                       ) -> None:  # type: ignore[no-untyped-def]
    _, cur = issue_frames(n=300)
    cur[column] = values(len(cur))
    _write(cur, tmp_path / "mismatch.parquet")
    code, _, err = run(issue_files["ref"], tmp_path / "mismatch.parquet")
    assert code == 2 and f"mismatch.parquet: {message}" in err and err.count("\n") == 1, err


def test_sniff_and_read_table_errors(tmp_path: Path) -> None:
    (tmp_path / "a.jsonl").write_text('{"x": 1}\n')
    assert sniff(tmp_path / "a.jsonl") == "jsonl"
    with pytest.raises(CheckInputError, match="no such file"):
        read_table(tmp_path / "none.parquet")
    with pytest.raises(CheckInputError, match="not a file"):
        read_table(tmp_path)
