"""What every source format is reduced to: paragraphs and table grids, in reading order.

A grid keeps merged cells as one origin repeated over the positions it covers, so a value
spanning columns is read once and a header spanning columns heads each of them.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class GridCell:
    text: str
    origin: tuple[int, int]  # (row, column) where the merged cell starts; itself when not merged


@dataclass
class Grid:
    """One table as printed: rows of equal width, merged cells repeated under their origin."""

    number: int  # 1-based, in the source's reading order (how a problem says which table)
    rows: list[list[GridCell]] = field(default_factory=list)

    @property
    def width(self) -> int:
        return max((len(r) for r in self.rows), default=0)

    def text(self, row: int, col: int) -> str:
        line = self.rows[row]
        return line[col].text if col < len(line) else ""


@dataclass
class Document:
    """A published report as read: its file, what might be its title, and its blocks in order."""

    path: str
    kind: str  # 网页 | Word 文档 | PDF
    titles: list[str]  # candidate titles (page title, first paragraphs), best first
    blocks: list[str | Grid]  # a paragraph's text, or a table


def grid_from_rows(number: int, rows: list[list[tuple[str, int, int]]]) -> Grid:
    """A Grid from rows of (text, rowspan, colspan) cells, as HTML and Word write tables."""
    taken: dict[tuple[int, int], GridCell] = {}
    for r, cells in enumerate(rows):
        c = 0
        for text, rowspan, colspan in cells:
            while (r, c) in taken:
                c += 1
            cell = GridCell(text, (r, c))
            for dr in range(max(rowspan, 1)):
                for dc in range(max(colspan, 1)):
                    taken.setdefault((r + dr, c + dc), cell)
            c += max(colspan, 1)
    height = max((r for r, _ in taken), default=-1) + 1
    width = max((c for _, c in taken), default=-1) + 1
    grid = Grid(number)
    for r in range(height):  # a position no cell covers (a short row) is blank, its own origin
        grid.rows.append([taken.get((r, c)) or GridCell("", (r, c)) for c in range(width)])
    return grid
