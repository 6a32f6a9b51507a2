"""The slow check behind data/calibration_fit.json: fit everything again (one fit per family and one per
publication left out, ~10 s of CPU) and compare with what is committed.

The fast tests in test_calibration.py catch edited data files and physics that no longer reproduce the stored
errors; this one also catches a change to the fit itself (grids, weights, free factors) made without bumping
`FIT_CODE_VERSION`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel.calibration import FIT_FILE, CalibrationFit, calibration_fit
from costmodel.cli import app

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
REGENERATE = "regenerate it: `opentco catalog calibration --refit --write` (then commit data/calibration_fit.json)"


def test_refit_reproduces_the_committed_file():
    committed = CalibrationFit.model_validate_json((REPO_DATA / FIT_FILE).read_bytes())
    fresh = calibration_fit(refit=True)
    assert fresh.inputs == committed.inputs, f"the data files changed; {REGENERATE}"
    assert fresh.fit_code_version == committed.fit_code_version
    assert (fresh.published_rows, fresh.fitted_rows, fresh.unresolved_ids) == (
        committed.published_rows,
        committed.fitted_rows,
        committed.unresolved_ids,
    )
    assert list(fresh.families) == list(committed.families)
    for family, new in fresh.families.items():
        old = committed.families[family]
        why = f"{family}: a refit no longer gives the committed fit; bump FIT_CODE_VERSION and {REGENERATE}"
        assert (new.points, new.sources, new.calibrated, new.fitted_params) == (
            old.points,
            old.sources,
            old.calibrated,
            old.fitted_params,
        ), why
        # factors sit on fixed grids: a refit lands on the same grid points or the fit changed
        assert new.efficiency == pytest.approx(old.efficiency, abs=1e-9), why
        assert new.loso_fits.keys() == old.loso_fits.keys(), why
        for src, factors in new.loso_fits.items():
            assert factors == pytest.approx(old.loso_fits[src], abs=1e-9), f"{why} (without {src})"
        for a, b in ((new.in_sample, old.in_sample), (new.leave_one_source_out, old.leave_one_source_out)):
            assert (a.median_pct, a.mean_pct) == pytest.approx((b.median_pct, b.mean_pct), abs=0.01), why
    for regime, new_r in (*fresh.regimes.items(), ("all", fresh.overall)):
        old_r = committed.overall if regime == "all" else committed.regimes[regime]
        assert (new_r.points, new_r.loso_within_2x) == (old_r.points, old_r.loso_within_2x), regime
        assert new_r.loso_median_pct == pytest.approx(old_r.loso_median_pct, abs=0.01), regime

    # `--refit` prints the same table as the file (the refit above is cached for this data directory)
    runner = CliRunner()
    stored = json.loads(runner.invoke(app, ["catalog", "calibration", "--json"]).stdout)
    res = runner.invoke(app, ["catalog", "calibration", "--refit", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == stored
    assert "refitted in this process, not stored" in res.stderr
