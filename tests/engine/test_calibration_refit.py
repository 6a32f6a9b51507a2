"""The check behind data/calibration_fit.json: fit again and compare with what is committed.

The fast tests in test_calibration.py catch edited data files and physics that no longer reproduce the stored
errors; these also catch a change to the fit itself (grids, weights, free factors, the search) made without
bumping `FIT_CODE_VERSION`. They refit every family (seconds) and, per family, the leave-one-source-out fit
without its largest publication, rather than all of them: the full report is one fit per publication, about
3.5 minutes of one core (`opentco catalog calibration --refit`), and runs the same `fit_efficiency` these call.
"""

from __future__ import annotations

import json
import shutil
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from costmodel import calibration
from costmodel.calibration import FIT_FILE, CalibrationFit, fit_efficiency, stored_calibration_fit
from costmodel.cli import app
from costmodel.throughput import Efficiency

REPO_DATA = Path(__file__).resolve().parents[2] / "data"
REGENERATE = "regenerate it: `opentco catalog calibration --refit --write` (then commit data/calibration_fit.json)"


def _committed() -> CalibrationFit:
    return CalibrationFit.model_validate_json((REPO_DATA / FIT_FILE).read_bytes())


def _why(family: str) -> str:
    return f"{family}: a refit no longer gives the committed fit; bump FIT_CODE_VERSION and {REGENERATE}"


@pytest.mark.parametrize("family", list(_committed().families))
def test_each_family_refits_to_the_committed_factors(family):
    fam = _committed().families[family]
    pts = calibration._family_points(str(REPO_DATA), family)
    assert (len(pts), len({r.point.source_key for r in pts})) == (fam.points, fam.sources), _why(family)
    assert tuple(calibration._free_params(pts)) == fam.fitted_params, _why(family)
    eff = fit_efficiency(pts)
    # factors sit on fixed grids: a refit lands on the same grid points or the fit changed
    assert calibration._factors_of(eff) == pytest.approx(fam.efficiency, abs=1e-9), _why(family)


@pytest.mark.parametrize("family", [f for f, fam in _committed().families.items() if fam.sources > 1])
def test_leaving_out_the_largest_publication_refits_to_the_committed_factors(family):
    fam = _committed().families[family]
    pts = calibration._family_points(str(REPO_DATA), family)
    (largest, _), *_ = Counter(r.point.source_key for r in pts).most_common(1)
    rest = [r for r in pts if r.point.source_key != largest]
    eff = fit_efficiency(rest, start=Efficiency()) if len(rest) >= calibration.MIN_POINTS else Efficiency()
    assert calibration._factors_of(eff) == pytest.approx(fam.loso_fits[largest], abs=1e-9), _why(family)


def test_cli_refit_prints_what_it_writes(tmp_path, monkeypatch):
    """`--refit` computes the same table that `--refit --write` stores and a plain run then reads (MLX rows only,
    so the whole report, leave-one-source-out fits included, is refitted in a second)."""
    root = tmp_path / "data"
    shutil.copytree(REPO_DATA, root)
    lines = (REPO_DATA / "published_throughput.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    (root / "published_throughput.csv").write_text(lines[0] + "".join(x for x in lines[1:] if ",mlx," in x))
    monkeypatch.setenv("OPENTCO_DATA_DIR", str(root))
    runner = CliRunner()
    written = runner.invoke(app, ["catalog", "calibration", "--refit", "--write", "--json"])
    assert written.exit_code == 0, written.output
    fit = stored_calibration_fit()
    assert fit is not None and list(fit.families) == ["mlx"]
    assert fit.families["mlx"] == _committed().families["mlx"]  # same rows, same code: the committed family
    stored = runner.invoke(app, ["catalog", "calibration", "--json"])
    assert json.loads(stored.stdout) == json.loads(written.stdout)
    res = runner.invoke(app, ["catalog", "calibration", "--refit", "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout) == json.loads(stored.stdout)
    assert "refitted in this process, not stored" in res.stderr
