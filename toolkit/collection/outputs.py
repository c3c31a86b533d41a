"""Write a merged collection's three outputs: collection.xlsx, collection.docx and summary.docx."""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from toolkit.collection.documents import write_collection_docx, write_summary_docx
from toolkit.collection.model import Collection
from toolkit.collection.workbook import write_collection
from toolkit.core.batch import Progress


def write_outputs(
    c: Collection,
    out_dir: str | Path,
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
) -> list[Path]:
    """collection.xlsx, collection.docx (when anything was accepted) and summary.docx in out_dir."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    outputs = [write_collection(c, out / "collection.xlsx")]
    docx = write_collection_docx(c, out / "collection.docx", executor, template_path, progress)
    if docx is not None:
        outputs.append(docx)
    else:  # nothing accepted: an earlier run's collection.docx must not pass for this one's
        (out / "collection.docx").unlink(missing_ok=True)
    outputs.append(write_summary_docx(c, out / "summary.docx", template_path))
    return outputs
