"""Package paths of relationship targets, as Excel (relative) and openpyxl (absolute) write them."""

from __future__ import annotations

import pytest

from toolkit.core.zipparts import part_target


@pytest.mark.parametrize(
    ("base", "target", "path"),
    [
        ("word/document.xml", "media/image1.png", "word/media/image1.png"),
        ("word/document.xml", "/word/media/image1.png", "word/media/image1.png"),
        ("xl/worksheets/sheet1.xml", "../drawings/vmlDrawing1.vml", "xl/drawings/vmlDrawing1.vml"),
        ("xl/workbook.xml", "worksheets/sheet2.xml", "xl/worksheets/sheet2.xml"),
        ("xl/workbook.xml", "/xl/worksheets/sheet2.xml", "xl/worksheets/sheet2.xml"),
    ],
)
def test_a_relationship_target_as_a_package_path(base, target, path):
    assert part_target(base, target) == path
