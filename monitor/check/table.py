"""The plain-text report of ``driftwarden check``: every column, then what must be acted on, then a summary.

Columns of the table, each named for what it holds: ``test statistic`` (the test's own statistic, e.g.
Cramér–von Mises T, χ², Wasserstein distance), ``p_value`` (raw), ``p_adj`` (Benjamini–Hochberg adjusted, preset
``default``), ``effect`` (effect size: KS D for numeric, total variation distance for categorical, preset
``default``), ``drifted if`` (the rule with its thresholds) and ``verdict``. Below: the triggered quality
findings with their value, the multivariate verdict with its band, the dataset verdict, and one summary line
(the last line) naming the drifted columns, the quality findings and the gate's outcome.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from detectors import ColumnResult
from monitor.check.batch import BatchCheck
from monitor.check.findings import Finding

__all__ = ["drift_rule", "render_table", "summary_line"]


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return f"{value:.4g}"


def drift_rule(c: ColumnResult) -> str:
    """The column's verdict rule with its numbers, e.g. ``p_adj<0.01 & effect>=0.05``.

    Preset ``default``: ``p_adj < alpha and effect >= threshold``; a test with a p-value otherwise:
    ``p_value < threshold``; a distance: ``test statistic >= threshold``.
    """
    if c.p_value_adjusted is not None and c.effect_size is not None and c.alpha is not None:
        return f"p_adj<{c.alpha:g} & effect>={c.threshold:g}"
    if c.p_value is not None:
        return f"p_value<{c.threshold:g}"
    return f"statistic>={c.threshold:g}"


def _grid(rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return lines


def summary_line(check: BatchCheck, failed: Sequence[str], conditions: Sequence[str]) -> str:
    """``FAIL|PASS|checked: N/M columns drifted (a, b); K quality findings (col: check); multivariate ...;
    dataset ...``."""
    report = check.report
    drifted = [f.column or "?" for f in check.findings if f.category == "column"]
    quality = [f"{f.column}: {f.check}" if f.column else f.check for f in check.findings if f.category == "quality"]
    multi = any(f.category == "multivariate" for f in check.findings)
    dataset = any(f.category == "dataset" for f in check.findings)
    parts = [f"{len(drifted)}/{len(report.columns)} columns drifted" + (f" ({', '.join(drifted)})" if drifted else ""),
             f"{len(quality)} quality finding{'s' if len(quality) != 1 else ''}"
             + (f" ({', '.join(quality)})" if quality else ""),
             "multivariate drift" if multi else "no multivariate drift",
             "dataset drift" if dataset else "no dataset drift"]
    if not conditions:
        head = "checked (no --fail-on: exit 0)"
    elif failed:
        head = f"FAIL (--fail-on {', '.join(failed)})"
    else:
        head = f"PASS (--fail-on {', '.join(conditions)})"
    return f"{head}: {'; '.join(parts)}"


def _quality_lines(findings: list[Finding], rules: str) -> list[str]:
    quality = [f for f in findings if f.category == "quality"]
    if not quality:
        return [f"quality: no finding ({rules} rules)"]
    rows = [("column", "check", "value", "finding")]
    rows += [(f.column or "-", f.check, _fmt(f.value), f.message) for f in quality]
    return [f"quality findings ({rules} rules):", *("  " + line for line in _grid(rows))]


def _multivariate_line(check: BatchCheck) -> str:
    multi = check.report.multivariate
    if multi is None:
        return "multivariate: not tested (the reference has no joint detector, or not all its columns are tested)"
    where = f"PCA reconstruction error {_fmt(multi.statistic)}, band [{_fmt(multi.lower)}, {_fmt(multi.upper)}]"
    if multi.drifted is None:
        return f"multivariate: no verdict ({multi.n_rows} rows, below the detector's minimum); {where}"
    counted = any(f.category == "multivariate" for f in check.findings)
    verdict = "DRIFT" if multi.drifted else "ok"
    note = "" if counted == bool(multi.drifted) else f" (not counted: {check.rules} rules)"
    return f"multivariate: {verdict}: {where}, {multi.n_rows} rows{note}"


def render_table(check: BatchCheck, failed: Sequence[str] = (), conditions: Sequence[str] = ()) -> str:
    """The whole text report (see the module docstring)."""
    report = check.report
    rows = [("column", "kind", "test", "test statistic", "p_value", "p_adj", "effect", "drifted if", "verdict")]
    for c in report.columns:
        rows.append((c.name, c.kind, c.test, _fmt(c.statistic), _fmt(c.p_value), _fmt(c.p_value_adjusted),
                     _fmt(c.effect_size), drift_rule(c), "DRIFT" if c.drifted else "ok"))
    lines = _grid(rows)
    lines.append("")
    lines.extend(_quality_lines(check.findings, check.rules))
    lines.append(_multivariate_line(check))
    verdict = "DRIFT" if report.dataset_drift else "ok"
    lines.append(f"dataset: {verdict}: {sum(c.drifted for c in report.columns)}/{len(report.columns)} columns "
                 f"drifted, share {report.drift_share:.2f} (dataset drift if >= {report.drift_share_threshold:.2f}); "
                 f"preset {report.preset}, {report.n_current} current rows")
    lines.append("")
    lines.append(summary_line(check, failed, conditions))
    return "\n".join(lines)
