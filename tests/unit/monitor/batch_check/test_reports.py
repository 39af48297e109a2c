"""``check --html FILE`` (self-contained: no external reference) and ``--html-evidently FILE``."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

Run = Callable[..., tuple[int, str, str]]


def test_html_report_is_self_contained(run: Run, issue_files: dict[str, Path], tmp_path: Path) -> None:
    out_file = tmp_path / "report.html"
    code, _, err = run(issue_files["ref"], issue_files["cur"], "--html", out_file, "--fail-on", "column")
    assert code == 1, err
    page = out_file.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and page.rstrip().endswith("</html>")
    assert not re.search(r"https?://|//[a-z0-9.-]+\.[a-z]{2,}/", page, re.IGNORECASE)  # nothing to fetch
    assert not re.search(r"<(script|link|img|iframe)\b", page, re.IGNORECASE)
    assert page.count("<svg") == 4  # one distribution per tested column
    assert "FAIL (--fail-on column): 1/4 columns drifted (age)" in page
    assert "income: missing rate 4.00% (200 of 5000)" in page
    assert re.search(r"<h3>age <span class=\"drift\">DRIFT</span></h3>", page)
    assert "Multivariate: ok: PCA reconstruction error" in page


def test_html_report_from_a_profile(run: Run, issue_files: dict[str, Path], tmp_path: Path) -> None:
    import pandas as pd

    from detectors import ReferenceProfile

    ReferenceProfile.build(pd.read_csv(issue_files["ref"])).save(tmp_path / "ref.profile")
    code, _, err = run(tmp_path / "ref.profile", issue_files["cur"], "--html", tmp_path / "p.html")
    assert code == 0, err
    assert (tmp_path / "p.html").read_text(encoding="utf-8").count("<svg") == 4


def test_html_evidently_report(run: Run, issue_files: dict[str, Path], tmp_path: Path) -> None:
    out_file = tmp_path / "evidently.html"
    code, out, err = run(issue_files["ref"], issue_files["cur"], "--html-evidently", out_file, "--columns", "age,city")
    assert code == 0, err
    page = out_file.read_text(encoding="utf-8")
    assert "<html" in page.lower() and "age" in page and "city" in page
    assert "Drift is detected for 50.0% of columns (1 out of 2)" in page  # Evidently's own verdict
    assert out.splitlines()[-1].startswith("checked (no --fail-on: exit 0): 1/2 columns drifted (age)")


def test_unwritable_report_exits_2(run: Run, issue_files: dict[str, Path], tmp_path: Path) -> None:
    code, _, err = run(issue_files["ref"], issue_files["cur"], "--html", tmp_path / "no" / "dir" / "r.html")
    assert code == 2 and "r.html: cannot write the report" in err and err.count("\n") == 1
