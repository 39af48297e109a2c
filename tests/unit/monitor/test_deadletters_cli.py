"""``driftwarden deadletters list|show|export|requeue`` on a SQLite database holding dead letters stored the
way the watcher stores them (:meth:`DeadLetterRecord.to_row`). Requeueing through a real broker is in
tests/integration/test_deadletters_requeue.py."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from monitor.cli import app
from monitor.consumer.deadletter import DeadLetterRecord
from monitor.db import make_engine, session_factory, upgrade
from monitor.db.models import DeadLetter
from monitor.sources import RawMessage
from monitor.store.dead_letters import reason_counts

NOW = datetime.now(UTC)
LETTERS = [  # (raw, key, model, reason, age)
    (b'{"model": "churn", "x": 1}', b"churn", "churn", "unknown model 'churn'", timedelta(hours=1)),
    (b'{"model": "churn2"}', b"churn2", "churn2", "unknown model 'churn2'", timedelta(days=3)),
    (b"\xff\xfe\x00 not json", None, None, "message is not UTF-8 at byte 0", timedelta(minutes=5)),
]


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path}/dl.db"
    upgrade(url)
    engine = make_engine(url)
    with session_factory(engine).begin() as session:
        for offset, (raw, key, model, reason, age) in enumerate(LETTERS):
            msg = RawMessage("preds", 1, offset, key, raw, "prediction")
            row = DeadLetterRecord.of(msg, reason, category="x", error_class="EventDecodeError", model=model).to_row()
            session.add(row)
            session.flush()
            session.execute(update(DeadLetter).where(DeadLetter.id == row.id).values(created_at=NOW - age))
    engine.dispose()
    return url


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_list_filters_by_reason_model_and_since(db: str) -> None:
    code, out, _ = _run("deadletters", "list", "--db", db, "--json")
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["reason"] for r in rows] == [LETTERS[2][3], LETTERS[0][3], LETTERS[1][3]]  # newest first
    assert "raw_base64" not in rows[0]
    code, out, _ = _run("deadletters", "list", "--db", db, "--json", "--reason", "UNKNOWN MODEL", "--since", "1d")
    assert [json.loads(line)["model"] for line in out.splitlines()] == ["churn"]
    code, out, _ = _run("deadletters", "list", "--db", db, "--model", "churn2")
    assert code == 0 and "churn2" in out and out.count("\n") == 1
    code, out, _ = _run("deadletters", "list", "--db", db, "--reason", "50%_")
    assert out.strip() == "no dead letters"  # % and _ are literal, not wildcards


def test_show_and_export_give_back_the_raw_bytes(db: str, tmp_path: Path) -> None:
    code, out, _ = _run("deadletters", "show", "3", "--db", db, "--json")
    assert code == 0
    shown = json.loads(out)
    assert base64.b64decode(shown["raw_base64"]) == LETTERS[2][0] and shown["key_base64"] is None
    target = tmp_path / "out.jsonl"
    code, _, err = _run("deadletters", "export", str(target), "--db", db, "--reason", "unknown model")
    assert code == 0 and "2 dead letters" in err
    exported = [json.loads(line) for line in target.read_text().splitlines()]
    assert {(base64.b64decode(e["raw_base64"]), base64.b64decode(e["key_base64"])) for e in exported} == {
        (LETTERS[0][0], LETTERS[0][1]), (LETTERS[1][0], LETTERS[1][1])}
    code, out, _ = _run("deadletters", "show", "1", "--db", db)
    assert code == 0 and '{"model": "churn", "x": 1}' in out


@pytest.mark.parametrize(("args", "message"), [
    (("show", "99"), "dead letter 99 does not exist"),
    (("list", "--since", "yesterday-ish"), "--since 'yesterday-ish' is neither a duration"),
    (("requeue",), "requeue needs dead letter ids"),
])
def test_bad_input_is_one_line_and_exit_2(db: str, args: tuple[str, ...], message: str) -> None:
    code, _, err = _run("deadletters", *args, "--db", db)
    assert code == 2
    assert message in err and err.count("\n") == 1


def test_requeue_dry_run_names_topics_skips_truncated_and_records_nothing(db: str) -> None:
    engine = make_engine(db)
    with session_factory(engine).begin() as session:  # a message longer than what was kept
        session.execute(update(DeadLetter).where(DeadLetter.id == 2).values(raw_size=10_000_000))
    code, out, _ = _run("deadletters", "requeue", "--db", db, "--reason", "unknown model", "--dry-run", "--json")
    assert code == 0
    result = json.loads(out)
    assert result["requeued"] == [1] and result["topics"] == {"preds": 1} and "2" in result["skipped"]
    with session_factory(engine)() as session:
        assert session.get(DeadLetter, 1).requeue_count == 0  # type: ignore[union-attr]
    engine.dispose()


def test_reason_counts_group_reasons_by_kind(db: str) -> None:
    engine = make_engine(db)
    with engine.connect() as conn:
        counts = reason_counts(conn, NOW - timedelta(days=7), freq="7D")
    engine.dispose()
    by_kind = counts.groupby("reason_kind")["count"].sum().to_dict()
    assert by_kind == {"unknown model '…'": 2, "message is not UTF-8 at byte N": 1}
