"""Time the whole pipeline on N generated returns, next to the naive way of doing each step.

    python benchmarks/pipeline.py --n 1000 --json benchmarks/results-1000.json
    python benchmarks/pipeline.py --n 10000 --no-naive

Not a test: it prints a table (naive seconds, ours, ratio, target) and writes JSON. The naive
baselines are the obvious implementations: xlsxwriter per template, a full openpyxl load per
return, a fresh docxtpl template per report, docxcompose for the combined document. docxcompose
is quadratic, so it runs on at most --compose-max documents and is extrapolated (n² scaling) and
marked so beyond that.

Two rows are not about throughput:
- merge_warm: the same merge run again into the same output folder after one return was replaced
  by a corrected file (the January case). Its naive figure is the cold merge: without the merge
  cache a re-run redoes every return.
- startup: `toolkit check one.xlsx` as a whole process (interpreter start included), the median of
  --startup-runs runs. Its naive figure runs the same command after importing every command's module
  and all toolkit.pipeline offers, as the command line did before its commands were loaded lazily. The toolkit's
  bytecode is compiled first (compileall), as installing the package does.
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import os
import platform
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import toolkit
from toolkit.collection.documents import combine_reports
from toolkit.core.batch import default_jobs, run_batch
from toolkit.forms.layout import layout_of
from toolkit.forms.spec import Form, get_form
from toolkit.pipeline import check_or_refuse
from toolkit.reports.batch import render_all
from toolkit.reports.render import default_template, report_context
from toolkit.returns.model import Return
from toolkit.workbook.mailing import write_mailing
from toolkit.workbook.writer import build_filled_workbook, build_workbook_directly

# the targets (seconds): issue 16 for check, report, merge (cold and warm) and start-up
TARGETS = {
    1000: {"template": 5, "check": 1.5, "report": 3, "collection_docx": 20, "merge": 8, "merge_warm": 2, "startup": 0.2},
    10000: {"merge": 80, "startup": 0.2},
}
TREE_LIMIT_MB = 400  # the whole process tree during a merge of 10,000 (issue 16)
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


_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


def _proc_cpu(pid: int) -> float:
    """utime + stime of a live process (Linux /proc), seconds."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / _TICKS
    except (OSError, IndexError, ValueError):
        return 0.0


def tree_cpu() -> float:
    """CPU seconds used so far by this process, its finished children and its live descendants (the pool's
    workers): what a step costs whatever else the machine is doing."""
    own, gone = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    live = sum(_proc_cpu(pid) for pid in _descendants(os.getpid()))
    return own.ru_utime + own.ru_stime + gone.ru_utime + gone.ru_stime + live


def measured(step: dict, func, *args, **kwargs):
    """Run one of our steps: its wall seconds as `fast`, the CPU seconds of the whole process tree as `cpu`."""
    cpu = tree_cpu()
    step["fast"], result = timed(func, *args, **kwargs)
    step["cpu"] = tree_cpu() - cpu
    return result


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


def _rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as f:
            return next((int(line.split()[1]) for line in f if line.startswith("VmRSS:")), 0)
    except OSError:
        return 0


def _descendants(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        here = todo.pop()
        try:
            tasks = os.listdir(f"/proc/{here}/task")
        except OSError:
            continue
        for task in tasks:
            try:
                with open(f"/proc/{here}/task/{task}/children", encoding="ascii") as f:
                    kids = [int(x) for x in f.read().split()]
            except OSError:
                kids = []
            found += kids
            todo += kids
    return found


def run_with_tree_peak(cmd: list[str]) -> float:
    """Run a command; the largest resident memory of it and all its descendants together (MB), sampled
    every 0.1 s (Linux /proc; 0 elsewhere): what the command costs the machine, workers included."""
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    peak_kb = 0
    while proc.poll() is None:
        peak_kb = max(peak_kb, sum(_rss_kb(p) for p in (proc.pid, *_descendants(proc.pid))))
        time.sleep(0.1)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}: {proc.stderr.read().decode()[-2000:]}")
    return round(peak_kb / 1024, 1)


def merge_into(returns_dir: Path, out: Path, jobs: int) -> float:
    """One `toolkit merge` exactly as an office runs it (its own process, the merge cache in the output
    folder); the process tree's memory peak in MB."""
    cmd = [sys.executable, "-m", "toolkit", "merge", str(returns_dir), "-o", str(out), "--name", "测试市", "-q"]
    return run_with_tree_peak([*cmd, "--jobs", str(jobs)])


def correct_one(form: Form, paths: list[Path], n: int) -> None:
    """An agency sends a corrected file: one return replaced by a different, still consistent one."""
    target = paths[len(paths) // 2]
    target.write_bytes(build_filled_workbook(random_return(form, n + 1), generated_at="2025-01-21T09:00:00+08:00"))


# ---------------------------------------------------------------- start-up

# What the command line did before it loaded commands lazily: import every command's module and
# everything toolkit.pipeline offers, then run the command.
_EAGER = (
    "import importlib, sys\n"
    "import toolkit.pipeline as p\n"
    "from toolkit.cli.app import COMMAND_MODULES\n"
    "for name in p.__all__:\n"
    "    getattr(p, name)\n"
    "for module in COMMAND_MODULES.values():\n"
    "    importlib.import_module(module)\n"
    "from toolkit.cli import main\n"
    "main(sys.argv[1:])\n"
)


def _command() -> list[str]:
    script = Path(sys.executable).with_name("toolkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "toolkit"]


def _median_run(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(argv, capture_output=True, check=False)
        times.append(time.perf_counter() - start)
        assert done.returncode == 0, done.stderr.decode(errors="replace")[-500:]
    return statistics.median(times)


def startup(one: Path, runs: int) -> dict:
    """`toolkit check one.xlsx` as a whole process, median of `runs`; naive: every module imported first."""
    compileall.compile_dir(Path(toolkit.__file__).parent, quiet=1)  # as `pip install` leaves it
    _median_run([*_command(), "check", str(one)], 2)  # warm the disk cache
    fast = _median_run([*_command(), "check", str(one)], runs)
    naive = _median_run([sys.executable, "-c", _EAGER, "check", str(one)], runs)
    return {"fast": fast, "naive": naive, "runs": runs}


def run(n: int, jobs: int, naive: bool, compose_max: int, work: Path, startup_runs: int = 20) -> dict:
    form = get_form("gov-info-2021")
    returns_dir, tpl_dir, out_dir, docs_dir = work / "returns", work / "templates", work / "out", work / "docs"
    for d in (returns_dir, tpl_dir, out_dir, docs_dir, work / "naive"):
        d.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()[0]
    gen_s, paths = timed(make_returns, form, n, returns_dir, jobs)
    agencies = [f"测试市第{i:05d}局" for i in range(n)]

    steps = {name: {} for name in ("template", "check", "report", "collection_docx", "merge", "merge_warm")}
    measured(steps["template"], lambda: list(write_mailing(form, 2024, agencies, tpl_dir, jobs=jobs)))
    rets = measured(steps["check"], lambda: list(run_batch(check_or_refuse, paths, jobs)))
    assert all(r.accepted for r in rets), [p.message for r in rets for p in r.problems][:5]
    with ProcessPoolExecutor(jobs) as pool:
        measured(steps["report"], save_reports, render_all(rets, pool), docs_dir)
        docs = (p.read_bytes() for p in sorted(docs_dir.iterdir()))
        measured(steps["collection_docx"], combine_reports, docs, agencies, out_dir / "c.docx", "合并")
        if not naive:
            del rets  # the merge below reads every return again; keep one set in memory, as the CLI does
        steps["merge"]["tree_peak_mb"] = measured(steps["merge"], merge_into, returns_dir, out_dir / "merge", jobs)
        correct_one(form, paths, n)
        steps["merge_warm"]["tree_peak_mb"] = measured(steps["merge_warm"], merge_into, returns_dir, out_dir / "merge", jobs)
        steps["merge_warm"] |= {
            "naive": steps["merge"]["fast"],
            "naive_note": "the cold merge: without a merge cache a re-run redoes every return",
            "cache": (out_dir / "merge" / ".toolkit-cache").is_dir(),
        }
    steps["startup"] = startup(paths[0], startup_runs)
    memory = {**peak_mb(), "merge_tree_peak_mb": steps["merge"]["tree_peak_mb"]}
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
        step["target"] = TARGETS.get(n, {}).get(name)  # the targets are for 1,000 and 10,000
        if "naive" in step:
            step["ratio"] = round(step["naive"] / step["fast"], 1)
    return {
        "n": n,
        "jobs": jobs,
        "cores": os.cpu_count(),
        "usable_cores": default_jobs(),
        "load_average": [round(load_before, 1), round(os.getloadavg()[0], 1)],  # before and after: other work on the machine
        "python": platform.python_version(),
        "machine": platform.machine(),
        "generate_returns_s": round(gen_s, 2),
        "steps": {k: {kk: (round(vv, 3) if isinstance(vv, float) else vv) for kk, vv in v.items()} for k, v in steps.items()},
        "peak_memory": memory,
    }


def _seconds(value: float) -> str:
    return f"{value:.3f}" if value < 1 else f"{value:.2f}" if value < 100 else f"{value:.1f}"


def print_table(result: dict) -> None:
    print(
        f"\nN = {result['n']} returns, {result['cores']} cores ({result['usable_cores']} usable), {result['jobs']} jobs, "
        f"Python {result['python']}, load average {result['load_average'][0]} → {result['load_average'][1]}"
    )
    print(f"{'step':<18}{'naive s':>10}{'ours s':>10}{'ratio':>8}{'target s':>10}{'ours cpu s':>12}")
    for name, s in result["steps"].items():
        naive = _seconds(s["naive"]) + ("*" if s.get("naive_extrapolated_from") else "") if "naive" in s else "-"
        target = "-" if s["target"] is None else f"{s['target']:g}"
        cpu = _seconds(s["cpu"]) if "cpu" in s else "-"
        print(f"{name:<18}{naive:>10}{_seconds(s['fast']):>10}{s.get('ratio', '-')!s:>8}{target:>10}{cpu:>12}")
    memory = result["peak_memory"]
    print(f"peak memory: {memory} (merge process tree limit at 10,000: {TREE_LIMIT_MB} MB)")
    if any(s.get("naive_extrapolated_from") for s in result["steps"].values()):
        print("* docxcompose measured on fewer documents and extrapolated (it is quadratic)")
    print(
        "merge_warm: merge again after one return was replaced; naive = the cold merge (no cache: everything redone)"
        + ("" if result["steps"]["merge_warm"].get("cache") else " — no merge cache in this toolkit yet")
    )
    print("startup: `toolkit check one.xlsx`, whole process, median; naive = the same with every command imported first")
    print("ours cpu s: CPU seconds of the whole process tree (all cores together): what a step costs on a busy machine")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--no-naive", action="store_true", help="skip the naive baselines")
    parser.add_argument("--compose-max", type=int, default=200, help="most documents docxcompose merges (quadratic)")
    parser.add_argument("--json", type=Path, help="write the result here")
    parser.add_argument("--work", type=Path, help="working folder (default: a temporary one)")
    parser.add_argument("--startup-runs", type=int, default=20, help="runs of `toolkit check one.xlsx` (median)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args.n, args.jobs, not args.no_naive, args.compose_max, args.work or Path(tmp), args.startup_runs)
    print_table(result)
    if args.json:
        args.json.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
