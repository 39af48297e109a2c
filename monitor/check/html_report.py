"""A self-contained HTML report of a batch check: one file, no script, no external reference, viewable offline.

Per tested column: the reference and current distributions drawn as inline SVG (numeric: densities over 30
common bins spanning both; categorical and binary: shares of the 15 most frequent categories of the two
together), the test, its statistic, p-values, effect and verdict. Above them: the summary line, the
findings that count (quality findings with their values, the multivariate verdict, the dataset verdict).
The reference side is drawn from the profile (numeric: its kept sorted values; categorical: its counts),
so a saved profile serves as well as the training data.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import Any, Final

import numpy as np
import pandas as pd

from detectors.columns import CategoricalProfile, NumericProfile
from monitor.check.batch import BatchCheck
from monitor.check.table import _fmt, drift_rule, summary_line

__all__ = ["render_html"]

BINS: Final = 30
TOP_CATEGORIES: Final = 15
WIDTH, HEIGHT, PAD = 420, 160, 24
REF_COLOR, CUR_COLOR = "#4c78a8", "#f58518"

_CSS = """body{font-family:system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:.5em 0}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:left;font-size:14px}.drift{color:#b00;font-weight:bold}
.ok{color:#070}.col{display:inline-block;vertical-align:top;margin:0 1.5em 1.5em 0}.legend span{margin-right:1em}
.summary{font-size:16px;padding:.6em;background:#f4f4f4;border-left:4px solid #888}"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _bars(ref: np.ndarray[Any, Any], cur: np.ndarray[Any, Any], labels: Sequence[str]) -> str:
    """Two series of bar heights side by side on one SVG (shares or densities)."""
    n = len(ref)
    top = float(max(ref.max(initial=0.0), cur.max(initial=0.0))) or 1.0
    step = (WIDTH - 2 * PAD) / max(n, 1)
    out = [f'<svg width="{WIDTH}" height="{HEIGHT + 30}" role="img">',
           f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH - PAD}" y2="{HEIGHT}" stroke="#999"/>']
    for i in range(n):
        for j, (values, color) in enumerate(((ref, REF_COLOR), (cur, CUR_COLOR))):
            h = float(values[i]) / top * (HEIGHT - PAD)
            x = PAD + i * step + j * step / 2
            out.append(f'<rect x="{x:.1f}" y="{HEIGHT - h:.1f}" width="{max(step / 2 - 0.5, 0.5):.1f}" '
                       f'height="{h:.1f}" fill="{color}" fill-opacity="0.85"><title>{_e(labels[i])}: '
                       f'{"reference" if j == 0 else "current"} {float(values[i]):.4g}</title></rect>')
    if n and len(labels[0]) <= 12:
        for i in (0, n - 1) if n > TOP_CATEGORIES else range(n):
            out.append(f'<text x="{PAD + i * step + step / 2:.1f}" y="{HEIGHT + 14}" font-size="10" '
                       f'text-anchor="middle">{_e(labels[i])}</text>')
    out.append("</svg>")
    return "".join(out)


def _numeric_svg(col: NumericProfile, current: pd.Series) -> str:
    ref = np.asarray(col.values, dtype=float)
    cur = pd.to_numeric(current, errors="coerce").to_numpy(dtype=float)
    cur = cur[np.isfinite(cur)]
    both = np.concatenate([ref[np.isfinite(ref)], cur])
    if both.size == 0:
        return "<p>no finite value</p>"
    edges = np.histogram_bin_edges(both, bins=BINS)
    ref_d = np.histogram(ref, bins=edges, density=True)[0] if ref.size else np.zeros(BINS)
    cur_d = np.histogram(cur, bins=edges, density=True)[0] if cur.size else np.zeros(BINS)
    labels = [f"[{edges[i]:.3g}, {edges[i + 1]:.3g})" for i in range(BINS)]
    return _bars(ref_d, cur_d, labels) + f"<div>range {edges[0]:.4g} … {edges[-1]:.4g}</div>"


def _categorical_svg(col: CategoricalProfile, current: pd.Series) -> str:
    ref_counts = pd.Series(np.asarray(col.counts, dtype=float), index=[str(c) for c in col.categories])
    ref_counts = ref_counts.groupby(level=0).sum()
    cur_counts = current.dropna().map(str).value_counts().astype(float)
    ref_share = ref_counts / max(ref_counts.sum(), 1.0)
    cur_share = cur_counts / max(cur_counts.sum(), 1.0)
    pooled = ref_share.add(cur_share, fill_value=0.0).sort_values(ascending=False)
    labels = [str(c) for c in pooled.index[:TOP_CATEGORIES]]
    return _bars(ref_share.reindex(labels, fill_value=0.0).to_numpy(), cur_share.reindex(labels, fill_value=0.0)
                 .to_numpy(), labels)


def _column_block(check: BatchCheck, name: str) -> str:
    c = check.report.column(name)
    col = check.profile[name]
    if isinstance(col, NumericProfile):
        svg = _numeric_svg(col, check.current[name])
    elif isinstance(col, CategoricalProfile):
        svg = _categorical_svg(col, check.current[name])
    else:  # pragma: no cover
        svg = ""
    verdict = '<span class="drift">DRIFT</span>' if c.drifted else '<span class="ok">ok</span>'
    facts = (f"{_e(c.kind)}, {_e(c.test)}: test statistic {_fmt(c.statistic)}, p_value {_fmt(c.p_value)}, "
             f"p_adj {_fmt(c.p_value_adjusted)}, effect {_fmt(c.effect_size)}; drifted if {_e(drift_rule(c))}; "
             f"missing {c.missing_rate_reference:.2%} → {c.missing_rate_current:.2%}")
    return f'<div class="col"><h3>{_e(name)} {verdict}</h3><div>{facts}</div>{svg}</div>'


def _findings_table(check: BatchCheck) -> str:
    if not check.findings:
        return f"<p>No finding ({_e(check.rules)} rules).</p>"
    rows = "".join(f"<tr><td>{_e(f.category)}</td><td>{_e(f.column or '-')}</td><td>{_e(f.check)}</td>"
                   f"<td>{_fmt(f.value)}</td><td>{_e(f.message)}</td></tr>" for f in check.findings)
    return (f"<p>Judged by {_e(check.rules)} rules.</p><table><tr><th>what</th><th>column</th><th>check</th>"
            f"<th>value</th><th>finding</th></tr>{rows}</table>")


def _verdicts_table(check: BatchCheck) -> str:
    head = "".join(f"<th>{h}</th>" for h in ("column", "kind", "test", "test statistic", "p_value", "p_adj",
                                               "effect", "drifted if", "verdict"))
    rows = "".join(
        f"<tr><td>{_e(c.name)}</td><td>{_e(c.kind)}</td><td>{_e(c.test)}</td><td>{_fmt(c.statistic)}</td>"
        f"<td>{_fmt(c.p_value)}</td><td>{_fmt(c.p_value_adjusted)}</td><td>{_fmt(c.effect_size)}</td>"
        f"<td>{_e(drift_rule(c))}</td><td class=\"{'drift' if c.drifted else 'ok'}\">"
        f"{'DRIFT' if c.drifted else 'ok'}</td></tr>" for c in check.report.columns)
    return f"<table><tr>{head}</tr>{rows}</table>"


def render_html(check: BatchCheck, *, title: str, failed: Sequence[str] = (), conditions: Sequence[str] = ()) -> str:
    """The report as one HTML string (see the module docstring)."""
    report = check.report
    multi = report.multivariate
    if multi is None:
        multi_text = "not tested"
    else:
        state = "no verdict" if multi.drifted is None else ("DRIFT" if multi.drifted else "ok")
        multi_text = (f"{state}: PCA reconstruction error {_fmt(multi.statistic)}, band [{_fmt(multi.lower)}, "
                      f"{_fmt(multi.upper)}], {multi.n_rows} rows")
    dataset = (f"{'DRIFT' if report.dataset_drift else 'ok'}: share of drifted columns {report.drift_share:.2f} "
               f"(dataset drift if >= {report.drift_share_threshold:.2f}); preset {report.preset}, "
               f"{report.n_current} current rows")
    legend = (f'<div class="legend"><span style="color:{REF_COLOR}">■ reference</span>'
              f'<span style="color:{CUR_COLOR}">■ current</span></div>')
    blocks = "".join(_column_block(check, name) for name in check.columns)
    return (f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{_e(title)}</title>"
            f"<style>{_CSS}</style></head><body><h1>{_e(title)}</h1>"
            f"<p class=\"summary\">{_e(summary_line(check, failed, conditions))}</p>"
            f"<h2>Findings</h2>{_findings_table(check)}<p>Multivariate: {_e(multi_text)}</p>"
            f"<p>Dataset: {_e(dataset)}</p><h2>Columns</h2>{_verdicts_table(check)}"
            f"<h2>Distributions</h2>{legend}{blocks}</body></html>\n")
