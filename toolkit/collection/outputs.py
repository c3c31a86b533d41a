"""Write a merged collection's three outputs: collection.xlsx, collection.docx and summary.docx.

The three are one set: each is written into a staging folder inside the output folder and all are
moved into place together once complete (core.fileio.output_set), under a lock that keeps a second
merge out of the folder. A run that fails or is interrupted leaves the previous set whole.
"""

from __future__ import annotations

from concurrent.futures import Executor
from pathlib import Path

from toolkit.collection.documents import write_collection_docx, write_summary_docx
from toolkit.collection.model import Collection
from toolkit.collection.workbook import write_collection
from toolkit.core.batch import Progress
from toolkit.core.fileio import output_set


def write_outputs(
    c: Collection,
    out_dir: str | Path,
    executor: Executor | None = None,
    template_path: str | Path | None = None,
    progress: Progress | None = None,
    summary_texts: dict[str, str] | None = None,
) -> list[Path]:
    """collection.xlsx, collection.docx (when anything was accepted) and summary.docx in out_dir, as one set.

    Raises UserError when another merge is writing into out_dir (see core.fileio.folder_lock) and
    DiskFullError (a UserError) when the disk is full; either way out_dir keeps its earlier set.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with output_set(out) as outputs:
        write_collection(c, outputs.stage("collection.xlsx"))
        # nothing accepted: no collection.docx is written, and the set's commit removes an earlier
        # run's one, which must not pass for this run's
        write_collection_docx(c, outputs.stage("collection.docx"), executor, template_path, progress)
        write_summary_docx(c, outputs.stage("summary.docx"), template_path, summary_texts)
    return outputs.written
