"""Pins the public API of ``detectors`` (httpx-style): adding or removing a name is a deliberate change."""

from __future__ import annotations

import detectors

EXPECTED = {
    "KINDS",
    "PRESETS",
    "TESTS",
    "AllNullColumnError",
    "ColumnError",
    "ColumnResult",
    "DetectorError",
    "DriftReport",
    "IncompatibleTypeError",
    "InsufficientDataError",
    "InvalidParameterError",
    "MissingColumnError",
    "ProfileFormatError",
    "ProfileMismatchError",
    "ReferenceProfile",
    "TestResult",
    "TestSpec",
    "UnknownNameError",
    "WindowState",
    "evaluate",
    "get_test",
    "infer_kind",
}


def test_all_is_pinned() -> None:
    assert set(detectors.__all__) == EXPECTED


def test_every_exported_name_exists() -> None:
    for name in detectors.__all__:
        assert hasattr(detectors, name), name


def test_registered_tests_and_presets_are_pinned() -> None:
    assert set(detectors.TESTS) == {
        "ks", "wasserstein", "jensenshannon", "psi", "chisquare", "chisquare_gof", "z", "anderson",
        "cramer_von_mises", "hellinger", "kl_div", "ed", "fisher_exact",
    }
    assert detectors.PRESETS == ("default", "evidently")
