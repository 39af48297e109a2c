"""AppTest of the segment and fairness panels (Model, Alerts, Weekly pages) against a real database.

The database is written by the real pipeline and writer (:mod:`tests.unit.dashboard.segment_stream`);
expectations come from its scripted ground truth and from the stored rows, never from the page's code.
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from monitor.db import make_engine, session_factory
from monitor.store.segments_store import fairness_series, segment_series
from tests.unit.dashboard.segment_stream import DAYS, DRIFT_DAY, FAIR_DAYS, MODEL, T0, build_segment_db

APP = str(Path(__file__).resolve().parents[3] / "dashboard" / "app.py")


@pytest.fixture(scope="module")
def segment_db_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("segments") / "segments.db"
    build_segment_db(path)
    return path


@pytest.fixture
def segment_url(segment_db_file: Path, tmp_path: Path) -> Iterator[str]:
    target = tmp_path / "dashboard.db"
    for suffix in ("", "-wal", "-shm"):
        source = Path(f"{segment_db_file}{suffix}")
        if source.exists():
            shutil.copy(source, f"{target}{suffix}")
    yield f"sqlite:///{target}"


def _page(url: str, page: str, monkeypatch: pytest.MonkeyPatch) -> AppTest:
    monkeypatch.setenv("DRIFTWARDEN_DATABASE_URL", url)
    monkeypatch.delenv("DRIFTWARDEN_DASHBOARD_PASSWORD", raising=False)
    at = AppTest.from_file(APP, default_timeout=180)
    at.run()
    at.switch_page(f"views/{page}.py").run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _figure(at: AppTest, key: str) -> dict[str, object]:
    chart = next(c for c in at.get("plotly_chart") if c.proto.id.endswith(key) or key in c.proto.id)
    return json.loads(chart.proto.spec)  # type: ignore[no-any-return]


def _table(at: AppTest, column: str) -> pd.DataFrame:
    """The first dataframe of the page with ``column``."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _stored(url: str) -> tuple[list[object], list[object]]:
    engine = make_engine(url)
    try:
        with session_factory(engine)() as session:
            return list(segment_series(session, MODEL)), list(fairness_series(session, MODEL))
    finally:
        engine.dispose()


def _ts(value: object) -> pd.Timestamp:
    return pd.Timestamp(value).tz_localize("UTC") if pd.Timestamp(value).tzinfo is None else pd.Timestamp(value)


DRIFT_END = pd.Timestamp(T0 + timedelta(days=DRIFT_DAY + 1))


def test_model_page_heatmap_slices_and_fairness(segment_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(segment_url, "model", monkeypatch)
    assert at.title[0].value == MODEL
    subheaders = [s.value for s in at.subheader]
    assert subheaders.index("Segments") < subheaders.index("Fairness")
    segs, fair = _stored(segment_url)

    heat = _figure(at, "segment_heatmap")["data"][0]
    assert heat["type"] == "heatmap" and heat["y"] == ["platform=android", "platform=ios", "platform=web"]
    ends = [_ts(x) for x in heat["x"]]
    assert len(ends) == DAYS
    # every cell is the stored drift share of that segment and window; the alerted cells are marked
    for row in segs:
        i, j = heat["y"].index(row.segment), ends.index(pd.Timestamp(row.window_end))  # type: ignore[attr-defined]
        assert heat["z"][i][j] == pytest.approx(row.drift_share)  # type: ignore[attr-defined]
        assert (heat["text"][i][j] == "!") == row.alerted  # type: ignore[attr-defined]
    alerted = {(r.segment, pd.Timestamp(r.window_end)) for r in segs if r.alerted}  # type: ignore[attr-defined]
    assert alerted == {("platform=web", DRIFT_END)}  # the one scripted segment incident

    # the drill-down opens on the window with the alerted segment: its worst slice is web's drift
    assert at.selectbox(key="model_page.segment_window.1").value == DRIFT_END
    slices = _table(at, "rank")
    top = slices.iloc[0]
    assert (top["metric"], top["name"], bool(top["significant"])) == ("drift", "platform=web", True)
    rows = _table(at, "drifted_columns")
    web = rows[rows["segment"] == "platform=web"].iloc[0]
    assert bool(web["alerted"]) and list(web["drifted_columns"]) == ["genre"]

    # fairness: one panel per metric, the threshold dashed, the scripted days violated (and only they)
    spec = _figure(at, "fairness")
    titles = [a["text"] for a in spec["layout"]["annotations"]]
    assert "threshold 0.1" in titles and "threshold 0.8" in titles
    violated_days = {pd.Timestamp(r.window_end) for r in fair if r.violated}  # type: ignore[attr-defined]
    assert violated_days == {pd.Timestamp(T0 + timedelta(days=d + 1)) for d in FAIR_DAYS}
    markers = [t for t in spec["data"] if t.get("name") == "violated"]
    assert {_ts(x) for t in markers for x in t["x"]} == violated_days
    assert f"{len(violated_days)} of {DAYS} windows violated a threshold" in "\n".join(c.value for c in at.caption)


def test_model_page_colours_by_take_rate_and_drills_into_another_window(
    segment_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _page(segment_url, "model", monkeypatch)
    at.segmented_control(key="model_page.segment_colour").set_value("take_rate").run()
    assert not at.exception
    heat = _figure(at, "segment_heatmap")["data"][0]
    segs, _ = _stored(segment_url)
    ends = [_ts(x) for x in heat["x"]]
    for row in segs:
        i, j = heat["y"].index(row.segment), ends.index(pd.Timestamp(row.window_end))  # type: ignore[attr-defined]
        assert heat["z"][i][j] == pytest.approx(row.metrics["take_rate"])  # type: ignore[attr-defined]
    last = pd.Timestamp(T0 + timedelta(days=DAYS))
    at.selectbox(key="model_page.segment_window.1").set_value(last).run()
    assert not at.exception
    rows = _table(at, "drifted_columns")
    assert len(rows) == 3 and not rows["alerted"].any()
    assert f"window ending {last:%Y-%m-%d %H:%M} UTC" in "\n".join(m.value for m in at.markdown)


def test_alerts_page_names_the_segment(segment_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    at = _page(segment_url, "alerts", monkeypatch)
    at.pills(key="alerts_page.statuses").set_value(["resolved"]).run()
    table = at.dataframe[0].value
    by_signal = {(r["signal"], r["feature"]): r["segment"] for _, r in table.iterrows()}
    assert by_signal[("feature_drift", "genre")] == "platform=web"
    assert by_signal[("fairness_gap", "gender:demographic_parity_difference")] in (None, "")


def test_weekly_page_names_the_segment_whose_take_rate_fell_most(
    segment_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    at = _page(segment_url, "weekly", monkeypatch)
    text = "\n".join(m.value for m in at.markdown)
    found = re.search(r"Take-rate fell most on (\S+) \(−(\d+\.\d) pts, ([\d.]+)% → ([\d.]+)%\)", text)
    assert found, text
    # independently: per segment, quality plays / shown over each week's windows (events-weighted rates)
    segs, _ = _stored(segment_url)
    end = pd.Timestamp(T0 + timedelta(days=DAYS))
    weeks: dict[tuple[str, int], list[float]] = {}
    for r in segs:
        week = 1 if pd.Timestamp(r.window_end) > end - pd.Timedelta(days=7) else 0  # type: ignore[attr-defined]
        acc = weeks.setdefault((r.segment, week), [0.0, 0.0])  # type: ignore[attr-defined]
        acc[0] += r.metrics["take_rate"] * r.n_events  # type: ignore[attr-defined]
        acc[1] += r.n_events  # type: ignore[attr-defined]
    change = {s: weeks[(s, 1)][0] / weeks[(s, 1)][1] - weeks[(s, 0)][0] / weeks[(s, 0)][1]
              for s in {s for s, _ in weeks}}
    worst = min(change, key=change.__getitem__)
    assert worst == "platform=ios" == found.group(1)  # the scripted fall (0.40 -> 0.34)
    assert float(found.group(2)) == pytest.approx(-100 * change[worst], abs=0.05)
    assert 3.0 < float(found.group(2)) < 9.0


def test_a_clicked_cell_names_its_window() -> None:
    """Plotly reports a heatmap click's ``x`` as text, with or without a zone: both name the window."""
    from dashboard.segments import clicked_window

    ends = [pd.Timestamp(T0 + timedelta(days=d + 1)) for d in range(3)]
    assert clicked_window([{"x": "2026-11-04 00:00", "y": "platform=web"}], ends) == ends[1]
    assert clicked_window([{"x": "2026-11-04T01:00:00+01:00"}], ends) == ends[1]
    assert clicked_window([{"x": "2026-11-09"}], ends) is None
    assert clicked_window([{"x": "not a time"}], ends) is None
    assert clicked_window([], ends) is None
