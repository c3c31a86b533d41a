"""Time the whole pipeline on N generated returns, next to the naive way of doing each step.

    python benchmarks/pipeline.py --n 1000 --json benchmarks/results-1000.json
    python benchmarks/pipeline.py --n 10000 --no-naive

Not a test: it prints a table (naive seconds, ours, ratio, target) and writes JSON. The naive
baselines are the obvious implementations: xlsxwriter per template, a full openpyxl load per
return, a fresh docxtpl template per report, docxcompose for the combined document. docxcompose
is quadratic, so it runs on at most --compose-max documents and is extrapolated (n² scaling) and
marked so beyond that.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from toolkit.collection.documents import combine_reports
from toolkit.core.batch import default_jobs, run_batch
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, get_form
from toolkit.pipeline import check_or_refuse, merge_returns, write_outputs
from toolkit.reports.batch import render_all
from toolkit.reports.render import default_template, report_context
from toolkit.returns.model import Return
from toolkit.workbook.mailing import write_mailing
from toolkit.workbook.writer import build_filled_workbook, build_workbook_directly

TARGETS = {"template": 5, "check": 5, "report": 30, "collection_docx": 20, "merge": 60}
APPLICANTS = ("natural", "business", "research", "charity", "legal", "other")


def random_return(form: Form, i: int) -> Return:
    """Consistent random figures (table 三 balanced per column) and a few paragraphs of text."""
    rng = random.Random(i)
    values = {c.id: rng.choice((0, rng.randint(0, 40))) for c in form.input_cells}
    for c in form.input_cells:
        if c.kind.type == "decimal":
            values[c.id] = round(rng.uniform(0, 900), 4)
    results = [
        r.id for r in next(t for t in form.tables if t.id == "t3").rows if r.id not in ("new", "carried", "total", "carry_over")
    ]
    for col in APPLICANTS:
        out = sum(values[f"t3.{r}.{col}"] for r in results) + values[f"t3.carry_over.{col}"]
        values[f"t3.carried.{col}"] = min(values[f"t3.carried.{col}"], out)
        values[f"t3.new.{col}"] = out - values[f"t3.carried.{col}"]
    agency = f"测试市第{i:05d}局"
    texts = {s.id: f"{agency}{s.title}。" * 20 + "\n第二段：R&D <改进> 措施。" * 3 for s in form.text_sections}
    fields = {"contact": "张三", "phone": "0954-1234567", "date": "2025年1月20日"}
    return Return(path="", form=form, agency=agency, year=2024, fields=fields, values=values, texts=texts)


def _write_return(args: tuple[Form, int, str]) -> str:
    form, i, folder = args
    path = Path(folder) / f"return-{i:05d}.xlsx"
    path.write_bytes(build_filled_workbook(random_return(form, i), generated_at="2025-01-20T10:00:00+08:00"))
    return str(path)


def make_returns(form: Form, n: int, folder: Path, jobs: int) -> list[Path]:
    return [Path(p) for p in run_batch(_write_return, [(form, i, str(folder)) for i in range(n)], jobs)]


def save_reports(docs, folder: Path) -> None:
    """Each rendered report to its own file, as `toolkit report --out-dir` does (memory stays flat)."""
    for i, data in enumerate(docs):
        (folder / f"{i:06d}.docx").write_bytes(data)


def timed(func, *args, **kwargs) -> tuple[float, object]:
    start = time.perf_counter()
    result = func(*args, **kwargs)
    return time.perf_counter() - start, result


# ---------------------------------------------------------------- naive baselines


def naive_templates(form: Form, agencies: list[str], folder: Path) -> None:
    for i, agency in enumerate(agencies):
        (folder / f"{i}.xlsx").write_bytes(build_workbook_directly(form, agency, 2024))


def naive_check(form: Form, paths: list[Path]) -> list[dict]:
    """The obvious reader: openpyxl loads everything, then inputs are read and totals recomputed."""
    import openpyxl

    layout, out = layout_of(form), []
    for path in paths:
        wb = openpyxl.load_workbook(path)
        inputs = {}
        for cell in form.input_cells:
            pos = layout.cells[cell.id]
            inputs[cell.id] = wb[pos.sheet].cell(pos.row + 1, pos.col + 1).value or 0
        values = form.compute(inputs)
        out.append({r.id: all(i.comparison.holds(values) for i in r.instances) for r in form.rules})
    return out


def naive_reports(rets: list[Return]) -> list[bytes]:
    from docxtpl import DocxTemplate

    docs = []
    for ret in rets:
        tpl = DocxTemplate(default_template(ret.form))
        tpl.render(report_context(ret), autoescape=True)
        buffer = io.BytesIO()
        tpl.save(buffer)
        docs.append(buffer.getvalue())
    return docs


def naive_compose(docs: list[bytes], path: Path) -> None:
    from docx import Document
    from docxcompose.composer import Composer

    master = Composer(Document(io.BytesIO(docs[0])))
    for data in docs[1:]:
        master.append(Document(io.BytesIO(data)))
    master.save(str(path))


# ---------------------------------------------------------------- the run


def peak_mb() -> dict[str, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {"main_process_mb": round(own, 1), "largest_worker_mb": round(children, 1)}


def run(n: int, jobs: int, naive: bool, compose_max: int, work: Path) -> dict:
    form = get_form("gov-info-2021")
    returns_dir, tpl_dir, out_dir, docs_dir = work / "returns", work / "templates", work / "out", work / "docs"
    for d in (returns_dir, tpl_dir, out_dir, docs_dir, work / "naive"):
        d.mkdir(parents=True, exist_ok=True)
    gen_s, paths = timed(make_returns, form, n, returns_dir, jobs)
    agencies = [f"测试市第{i:05d}局" for i in range(n)]
    steps: dict[str, dict] = {}

    steps["template"] = {"fast": timed(lambda: list(write_mailing(form, 2024, agencies, tpl_dir, jobs=jobs)))[0]}
    check_s, rets = timed(lambda: list(run_batch(check_or_refuse, paths, jobs)))
    assert all(r.accepted for r in rets), [p.message for r in rets for p in r.problems][:5]
    steps["check"] = {"fast": check_s}
    with ProcessPoolExecutor(jobs) as pool:
        steps["report"] = {"fast": timed(save_reports, render_all(rets, pool), docs_dir)[0]}
        docs = (p.read_bytes() for p in sorted(docs_dir.iterdir()))
        steps["collection_docx"] = {"fast": timed(combine_reports, docs, agencies, out_dir / "c.docx", "合并")[0]}
        if not naive:
            del rets  # the merge below reads every return again; keep one set in memory, as the CLI does
        merge_s, _ = timed(
            lambda: write_outputs(merge_returns([returns_dir], form, "测试市", executor=pool), out_dir / "merge", pool)
        )
        steps["merge"] = {"fast": merge_s}
    memory = peak_mb()
    if naive:
        steps["template"]["naive"] = timed(naive_templates, form, agencies, work / "naive")[0]
        steps["check"]["naive"] = timed(naive_check, form, paths)[0]
        naive_docs_s, docs = timed(naive_reports, rets)
        steps["report"]["naive"] = naive_docs_s
        m = min(n, compose_max)
        compose_s = timed(naive_compose, docs[:m], work / "naive" / "composed.docx")[0]
        steps["collection_docx"]["naive"] = compose_s * (n / m) ** 2
        steps["collection_docx"]["naive_extrapolated_from"] = m if m < n else None
        steps["merge"]["naive"] = steps["check"]["naive"] + naive_docs_s + steps["collection_docx"]["naive"]
        steps["merge"]["naive_note"] = "naive check + naive reports + docxcompose (collection.xlsx not included)"
    for name, step in steps.items():
        step["target"] = TARGETS[name] if n == 1000 else None  # the targets are for 1,000
        if "naive" in step:
            step["ratio"] = round(step["naive"] / step["fast"], 1)
    return {
        "n": n,
        "jobs": jobs,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "machine": platform.machine(),
        "generate_returns_s": round(gen_s, 2),
        "steps": {k: {kk: (round(vv, 2) if isinstance(vv, float) else vv) for kk, vv in v.items()} for k, v in steps.items()},
        "peak_memory": memory,
    }


def print_table(result: dict) -> None:
    print(f"\nN = {result['n']} returns, {result['cores']} cores, {result['jobs']} jobs, Python {result['python']}")
    print(f"{'step':<18}{'naive s':>10}{'ours s':>10}{'ratio':>8}{'target s':>10}")
    for name, s in result["steps"].items():
        naive = f"{s['naive']:.1f}" + ("*" if s.get("naive_extrapolated_from") else "") if "naive" in s else "-"
        target = "-" if s["target"] is None else f"{s['target']:.0f}"
        print(f"{name:<18}{naive:>10}{s['fast']:>10.2f}{s.get('ratio', '-')!s:>8}{target:>10}")
    print(f"peak memory: {result['peak_memory']}")
    if any(s.get("naive_extrapolated_from") for s in result["steps"].values()):
        print("* docxcompose measured on fewer documents and extrapolated (it is quadratic)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baselines")
    parser.add_argument("--compose-max", type=int, default=200, help="most documents docxcompose merges (quadratic)")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.n, args.jobs, not args.no_naive, args.compose_max, args.work or Path(tmp))
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
