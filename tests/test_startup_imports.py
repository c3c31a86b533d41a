"""Commands import only what they use: `toolkit check` loads no renderer, writer or openpyxl.

Each check runs in a fresh interpreter (a module imported by another test would hide a regression)
and looks at sys.modules, so it fails on an eager import, not on a slow machine.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import xlsxwriter.utility
import yaml
from filling import complete_fields, complete_texts, fill_workbook

from toolkit.cli.app import COMMAND_MODULES, WORKFLOW
from toolkit.forms import spec
from toolkit.forms.layout import cell_name
from toolkit.forms.spec import get_form

HEAVY = ("docxtpl", "docx", "docxcompose", "openpyxl", "xlsxwriter", "lxml", "jinja2", "numpy", "tqdm")
FORM = get_form(None)


def _imported_after(code: str, *args: str) -> tuple[list[str], str]:
    """The heavy packages a fresh interpreter has imported after running `code`, and what it printed."""
    probe = f"{code}\nimport json, sys\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe, *args], capture_output=True, text=True, timeout=120, check=False)
    assert done.stdout.strip(), done.stderr
    *printed, last = done.stdout.strip().splitlines()
    return [m for m in json.loads(last) if m in HEAVY], "\n".join(printed)


@pytest.fixture
def a_return(tmp_path) -> Path:
    """A complete return that passes: every figure 0, texts and contact typed."""
    return fill_workbook(FORM, tmp_path / "甲局.xlsx", texts=complete_texts(FORM), fields=complete_fields(), agency="甲局")


def _run_command(*args: str) -> str:
    """`toolkit ARGS` in-process (its SystemExit caught), so the probe can look at sys.modules afterwards."""
    return f"import sys\nfrom toolkit.cli import main\ntry:\n    main({list(args)!r})\nexcept SystemExit as e:\n    print('exit', e.code)"


def test_check_of_one_return_imports_no_writer_renderer_or_openpyxl(a_return):
    heavy, printed = _imported_after(_run_command("check", str(a_return)))
    assert "甲局" in printed and "exit 0" in printed, printed  # the check really ran and passed
    assert heavy == [], heavy


def test_check_json_of_one_return_imports_none_either(a_return):
    heavy, printed = _imported_after(_run_command("check", str(a_return), "--json"))
    assert '"accepted": 1' in printed, printed
    assert heavy == [], heavy


def test_importing_the_cli_and_the_pipeline_imports_no_stage_it_does_not_use():
    heavy, _ = _imported_after("import toolkit.cli, toolkit.pipeline, toolkit")
    assert heavy == [], heavy


def _rejected(tmp_path: Path) -> Path:
    return fill_workbook(FORM, tmp_path / "乙局.xlsx", {FORM.input_cells[0].id: "十二"}, agency="乙局")


def test_check_of_a_rejected_return_imports_none_either(tmp_path):
    heavy, printed = _imported_after(_run_command("check", str(_rejected(tmp_path))))
    assert "十二" in printed and "exit 1" in printed, printed
    assert heavy == [], heavy


def test_annotating_still_loads_openpyxl_when_asked(tmp_path):
    """The lazy import is taken when the work needs it (a rejected return annotated)."""
    bad = _rejected(tmp_path)
    heavy, printed = _imported_after(_run_command("check", str(bad), "--annotate", str(tmp_path / "批注")))
    assert "exit 1" in printed and "openpyxl" in heavy, (printed, heavy)
    assert list((tmp_path / "批注").glob("*.xlsx"))


def test_the_pipeline_still_offers_every_name_it_lists():
    code = "import toolkit.pipeline as p\nprint('missing', [n for n in p.__all__ if getattr(p, n, None) is None])"
    heavy, printed = _imported_after(code)
    assert printed == "missing []", printed
    assert "openpyxl" in heavy  # annotate and friends were really imported on the way
    done = subprocess.run(
        [sys.executable, "-c", "from toolkit.pipeline import *; print(annotate.__module__, merge_exit_code.__name__)"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.split() == ["toolkit.checking.annotate", "exit_code"], done.stderr


def test_an_unknown_pipeline_name_is_an_attribute_error():
    import toolkit.pipeline as p

    with pytest.raises(AttributeError):
        p.no_such_thing  # noqa: B018


def test_the_group_help_lists_every_command_in_workflow_order_in_chinese():
    """`toolkit --help` from a fresh interpreter: the lazy group still shows each command's short help."""
    done = subprocess.run([sys.executable, "-m", "toolkit", "--help"], capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    listed = done.stdout.split("命令：\n", 1)[1]
    names = [line.split()[0] for line in listed.splitlines() if line.startswith("  ") and line.split()]
    assert names[:4] == list(WORKFLOW)
    assert sorted(names) == sorted({*COMMAND_MODULES, "forms"})
    first = next(line for line in listed.splitlines() if line.split()[:1] == ["check"])
    assert "检查回收的填报表格" in first, first


def test_every_command_declared_is_listed_where_its_module_is_named():
    """A command a module declares but COMMAND_MODULES does not name would be missing from the help."""
    code = (
        "import importlib\nfrom toolkit.cli.app import COMMAND_MODULES, main\n"
        "for m in set(COMMAND_MODULES.values()): importlib.import_module(m)\n"
        "print({n: c.callback.__module__ for n, c in main.commands.loaded.items()})"
    )
    _, printed = _imported_after(code)
    declared = eval(printed)  # our own probe printed a dict of names
    assert declared == {**COMMAND_MODULES, "forms": "toolkit.cli.app"}


@pytest.mark.parametrize("row", [0, 1, 9, 99, 1_048_575])
def test_cell_names_are_xlsxwriters(row):
    for col in [*range(0, 800), 701, 702, 16_383]:
        assert cell_name(row, col) == xlsxwriter.utility.xl_rowcol_to_cell(row, col)


def _as_plain(node):
    """A loaded spec with the line numbers of every mapping, comparable between two loaders."""
    if isinstance(node, dict):
        return ("map", node.line, sorted(node.key_lines.items()), {k: _as_plain(v) for k, v in node.items()})
    if isinstance(node, list):
        return [_as_plain(x) for x in node]
    return (type(node).__name__, node)


@pytest.mark.parametrize("name", ["gov-info-2019.yaml", "gov-info-2021.yaml"])
def test_the_shipped_forms_load_alike_with_libyaml_and_pure_python(name):
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML without libyaml: both loaders are the pure-Python one")
    from importlib import resources

    text = resources.files("workbook_templates").joinpath(name).read_text(encoding="utf-8")
    assert _as_plain(spec._load_yaml(text, name, spec._ShippedLoader)) == _as_plain(spec._load_yaml(text, name))
    assert spec.parse_form(text, name, shipped=True).fingerprint == spec.parse_form(text, name).fingerprint
