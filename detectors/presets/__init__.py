"""Test selection presets: ``evidently`` (Evidently 0.7's defaults) and ``default`` (driftwarden's own)."""

from __future__ import annotations
