"""Model quality: realized metrics with confidence intervals, CBPE estimates without labels, drop rule.

Pure: numpy, scipy and scikit-learn only. See ``docs/performance-quality.md``.
"""

from __future__ import annotations
