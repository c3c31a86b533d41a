"""Batches on other executors, and the benchmark script (run small, never timed)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from toolkit.pipeline import check_or_refuse, merge_returns

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

from pipeline import make_returns, random_return  # noqa: E402

from toolkit.forms.spec import get_form  # noqa: E402


def test_benchmark_runs_and_reports_every_step(tmp_path):
    out = tmp_path / "bench.json"
    result = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "pipeline.py"), "--n", "20", "--compose-max", "5", "--json", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["n"] == 20 and data["cores"] >= 1
    assert set(data["steps"]) == {"template", "check", "report", "collection_docx", "merge", "merge_warm", "startup"}
    assert data["steps"]["merge_warm"]["cache"] is True  # the re-run used the merge cache
    assert all(step["fast"] > 0 and step["naive"] > 0 for step in data["steps"].values())
    assert "ratio" in result.stdout and "collection_docx" in result.stdout


def test_merge_on_a_local_dask_cluster_equals_the_serial_merge(tmp_path):
    distributed = pytest.importorskip("distributed")
    form = get_form("gov-info-2021")
    paths = make_returns(form, 12, tmp_path, jobs=1)
    serial = merge_returns(paths, form, "测试市")
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    with cluster, distributed.Client(cluster) as client:
        on_dask = merge_returns(paths, form, "测试市", executor=client.get_executor())
        checked = list(client.get_executor().map(check_or_refuse, paths[:3]))
    assert on_dask.totals == serial.totals
    assert (
        [r.agency for r in on_dask.returns]
        == [r.agency for r in serial.returns]
        == sorted(random_return(form, i).agency for i in range(12))
    )
    assert all(r.accepted for r in checked)
