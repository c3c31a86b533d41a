"""Printed tables mapped onto the form's tables: every figure traced, every doubt a coded problem.

A grid is cut at caption rows (第二十条第（一）项 …); each part is matched to a spec table by its
caption or, failing one, by how many of its labels are the table's. Header rows (those above the
first row holding figures or a row label) give each column its printed path; the columns left of
the first matched one hold the row labels. Totals are read like any figure and kept apart, to be
compared with the totals computed from the inputs.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from toolkit.forms.spec import Column, Form, Row, Table
from toolkit.importing.document import Grid
from toolkit.importing.figures import looks_numeric, read_figure
from toolkit.importing.labels import Match, best, closeness, unit_of
from toolkit.importing.model import Figure
from toolkit.returns.model import Problem
from toolkit.returns.problems import problem

MIN_VOTES = 3  # labels of a spec table a captionless part must show to be taken for it


def _named(item: Row | Column) -> str:
    """A spec row or column with its groups, so two candidates of one label read apart."""
    return " / ".join(x for x in (*item.path, item.label) if x)


def where(grid: Grid, row: int, col: int | None = None) -> str:
    """How a problem names a place in the source: 第3个表格第5行第2列."""
    text = f"第{grid.number}个表格第{row + 1}行"
    return text + (f"第{col + 1}列" if col is not None else "")


@dataclass
class Part:
    """Rows [start, end) of a grid, taken for one spec table."""

    grid: Grid
    start: int
    end: int
    table: Table | None = None
    caption: tuple[str, Match] | None = None  # the caption row's text and its match, when the part has one


@dataclass
class ColumnMap:
    columns: dict[int, Column]  # grid column -> spec column
    units: dict[int, str]  # grid column -> unit printed in its header
    paths: dict[int, str]  # grid column -> printed path
    label_columns: list[int]
    width: int = 0  # of the grid it was read from: reused only for a grid as wide


@dataclass
class Pending:
    """The last row of a part whose label matched nothing: the rest of its label may open the next part."""

    rows: _Rows
    row: int
    path: list[str]
    match: Match
    place: str


@dataclass
class Reading:
    """What the tables of one report gave: figures by cell id, and the problems."""

    form: Form
    figures: dict[str, Figure] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
    seen_tables: set[str] = field(default_factory=set)
    fuzzy_said: set[tuple[str, str]] = field(default_factory=set)
    blanks: dict[str, list[str]] = field(default_factory=dict)  # table id -> places of blank cells read as 0
    last_map: dict[str, ColumnMap] = field(default_factory=dict)
    pending: Pending | None = None  # a part's last row, its label not (yet) known: cut by a page break?
    last_table: Table | None = None  # the spec table of the part read last (None: that part was no report table)

    def settle(self) -> None:
        """The pending row is what it looked like: a row no label of the form names."""
        if self.pending is not None:
            _unmatched(self, self.pending.match, self.pending.path, self.pending.place, "import_unknown_row")
            self.pending = None

    def fuzzy(self, match: Match, printed: str, place: str) -> None:
        key = (printed, match.label)
        if match.fuzzy and key not in self.fuzzy_said:
            self.fuzzy_said.add(key)
            self.problems.append(problem("import_fuzzy_label", sheet=place, value=printed.strip(), expected=match.label))


# ---------------------------------------------------------------- parts of a grid


def _distinct(texts: list[str]) -> list[str]:
    out: list[str] = []
    for t in texts:
        if t.strip() and (not out or out[-1] != t):
            out.append(t)
    return out


def _row_texts(grid: Grid, r: int) -> list[str]:
    """The texts of a row, each merged cell once."""
    seen, out = set(), []
    for cell in grid.rows[r]:
        if cell.origin not in seen:
            seen.add(cell.origin)
            out.append(cell.text)
    return [t for t in out if t.strip()]


def _caption(form: Form, grid: Grid, r: int) -> tuple[str, Match] | None:
    texts = _row_texts(grid, r)
    if len(texts) != 1:
        return None
    m = best(texts[0], [(t.caption, t) for t in form.tables if t.caption])
    return (texts[0], m) if m.item is not None else None


def split(form: Form, grid: Grid) -> list[Part]:
    """A grid cut at its caption rows; the part before the first caption has no table yet."""
    parts = [Part(grid, 0, len(grid.rows))]
    for r in range(len(grid.rows)):
        caption = _caption(form, grid, r)
        if caption is not None:
            parts[-1].end = r
            parts.append(Part(grid, r + 1, len(grid.rows), caption[1].item, caption))
    return [p for p in parts if p.end > p.start]


def _votes(table: Table, texts: set[str]) -> int:
    labels = [r.label for r in table.all_rows] + [c.label for c in table.columns]
    labels += [n.label for n in _header_nodes(table)] + [table.corner]
    return sum(1 for t in texts if any(closeness(t, label) is not None for label in labels if label))


def _header_nodes(table: Table):
    stack = list(table.header)
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


def choose_table(form: Form, part: Part) -> Table | None:
    """The spec table whose labels this part shows most (at least MIN_VOTES, and more than any other):
    a part without a caption is table 三 or 四, or a block of table 二 whose caption was cut off by a page break."""
    texts = {t for r in range(part.start, part.end) for t in _row_texts(part.grid, r)}
    scored = sorted(((_votes(t, texts), t.id) for t in form.tables), reverse=True)
    if not scored or scored[0][0] < MIN_VOTES or (len(scored) > 1 and scored[1][0] == scored[0][0]):
        return None
    return next(t for t in form.tables if t.id == scored[0][1])


# ---------------------------------------------------------------- columns


def _is_body(table: Table, grid: Grid, r: int) -> bool:
    texts = _row_texts(grid, r)
    if any(looks_numeric(t) for t in texts):
        return True
    rows = [(x.label, x) for x in table.all_rows if x.label]
    return bool(texts) and best(texts[0], rows).item is not None


def body_start(table: Table, part: Part) -> int:
    for r in range(part.start, part.end):
        if _is_body(table, part.grid, r):
            return r
    return part.end


def _by_path(candidates: tuple, path: list[str], path_of) -> list:
    """The candidates whose group labels the printed path shows most."""

    def score(item) -> int:
        return sum(1 for g in path_of(item) if any(closeness(p, g) is not None for p in path))

    top = max(score(c) for c in candidates)
    return [c for c in candidates if score(c) == top]


def _best_on_path(label: str, choices: list, outer: list[str], path_of) -> Match:
    """The closest spec label; a tie between namesakes settled by the printed labels around it (its path)."""
    m = best(label, choices)
    if m.item is None and m.candidates:
        narrowed = _by_path(m.candidates, outer, path_of)
        if len(narrowed) == 1:
            return Match(narrowed[0], narrowed[0].label, m.fuzzy)
    return m


def match_column(table: Table, path: list[str]) -> Match:
    choices = [(unit_of(c.label)[0], c) for c in table.columns]
    return _best_on_path(unit_of(path[-1])[0], choices, path[:-1], lambda c: c.path)


class _Columns:
    """The column map of one part, its problems said once per printed header cell."""

    def __init__(self, reading: Reading, table: Table, part: Part, header_end: int):
        self.reading, self.table, self.part, self.header_end = reading, table, part, header_end

    def path(self, c: int) -> list[str]:
        grid = self.part.grid
        cells, seen = [], set()
        for r in range(self.part.start, self.header_end):
            cell = grid.rows[r][c] if c < len(grid.rows[r]) else None
            if cell is not None and cell.origin not in seen and cell.text.strip():
                seen.add(cell.origin)
                cells.append(cell.text)
        return _distinct(cells)

    def build(self) -> ColumnMap:
        result = ColumnMap({}, {}, {}, [], self.part.grid.width)
        said: set[str] = set()
        for c in range(self.part.grid.width):
            path = self.path(c)
            if not path:
                continue
            m = match_column(self.table, path)
            place = where(self.part.grid, self.header_end - 1, c)
            if m.item is not None:
                self.reading.fuzzy(m, path[-1], place)
                result.columns[c], result.units[c], result.paths[c] = m.item, unit_of(path[-1])[1], " / ".join(path)
            elif (result.columns or m.candidates) and path[-1] not in said:  # a label column matches nothing
                said.add(path[-1])
                _unmatched(self.reading, m, path, place, "import_unknown_column")
        first = min(result.columns, default=0)
        result.label_columns = list(range(first))
        return result


def _unmatched(reading, m: Match, path: list[str], place: str, unknown: str) -> None:
    """A printed row or column label that names no spec item (`unknown`), or several (import_ambiguous)."""
    printed = " / ".join(p.strip() for p in path) or "（无标签）"
    if m.candidates:
        names = "或".join(f"“{_named(c)}”" for c in m.candidates)
        reading.problems.append(problem("import_ambiguous", sheet=place, value=printed, candidates=names))
    else:
        reading.problems.append(problem(unknown, sheet=place, value=printed))


# ---------------------------------------------------------------- rows


def match_row(table: Table, path: list[str]) -> Match:
    """The spec row (a leaf or a group) a printed label path names."""
    if not path:
        unlabelled = [r for r in table.rows if not r.label]
        return Match(unlabelled[0], "", False) if len(unlabelled) == 1 else Match(None, "", False)
    return _best_on_path(path[-1], [(r.label, r) for r in table.all_rows if r.label], path[:-1], lambda r: r.path)


class _Rows:
    """The body rows of one part read into figures."""

    def __init__(self, reading: Reading, table: Table, part: Part, columns: ColumnMap):
        self.reading, self.table, self.part, self.columns = reading, table, part, columns
        self.form = reading.form

    def label_path(self, r: int, last: int) -> list[str]:
        """The printed label of grid rows r..last, outermost first; a label cell split over these rows is joined."""
        grid, seen, texts = self.part.grid, set(), []
        for c in self.columns.label_columns:
            pieces = []
            for x in range(r, last + 1):
                cell = grid.rows[x][c] if c < len(grid.rows[x]) else None
                if cell is not None and cell.origin not in seen:
                    seen.add(cell.origin)
                    pieces.append(cell.text.strip())
            texts.append("".join(pieces))
        return _distinct(texts)

    def extent(self, r: int) -> int:
        """The last grid row of the printed row starting at r: every figure of it starts at r and ends below it
        together (a PDF cuts a row at each line of a label written over several lines)."""
        grid, ends = self.part.grid, set()
        for c, _ in self.values(r):
            origin = grid.rows[r][c].origin
            if origin[0] != r:
                return r
            last = r
            while last + 1 < self.part.end and c < len(grid.rows[last + 1]) and grid.rows[last + 1][c].origin == origin:
                last += 1
            ends.add(last)
        return ends.pop() if len(ends) == 1 else r

    def values(self, r: int) -> list[tuple[int, Column]]:
        """The grid columns of row r holding a value, each printed cell once."""
        out, seen = [], set()
        for c, column in sorted(self.columns.columns.items()):
            cell = self.part.grid.rows[r][c] if c < len(self.part.grid.rows[r]) else None
            if cell is None or cell.origin in seen:
                continue
            seen.add(cell.origin)
            out.append((c, column))
        return out

    def has_figures(self, r: int) -> bool:
        return any(self.part.grid.text(r, c).strip() for c, _ in self.values(r))

    def read(self) -> None:
        r = self.start()
        # the rest of a broken label is no body row by itself: the part's first row, or the last above its body
        for top in dict.fromkeys((self.part.start, r - 1)):
            if self.part.start <= top < self.part.end and self.continues_pending(top):
                r = max(r, self.extent(top) + 1)
                break
        self.reading.settle()
        while r < self.part.end:
            last = self.extent(r)
            self.printed_row(r, self.label_path(r, last), last + 1 == self.part.end)
            r = last + 1

    def continues_pending(self, r: int) -> bool:
        """Whether row r, without figures, is the rest of the label the previous part's last row began
        (Word lets a row break across pages): if so, that row is read under the joined label."""
        pending = self.reading.pending
        if pending is None or pending.rows.table is not self.table or self.has_figures(r):
            return False
        rest = self.label_path(r, self.extent(r))
        if not rest or not pending.path:
            return False
        joined = [*pending.path[:-1], pending.path[-1] + rest[-1]]
        m = match_row(self.table, joined)
        if m.item is None or m.item.children:
            return False
        self.reading.pending = None
        self.reading.fuzzy(m, joined[-1], pending.place)
        pending.rows.row(pending.row, m.item, " / ".join(p.strip() for p in joined))
        return True

    def printed_row(self, r: int, path: list[str], last_of_part: bool = False) -> None:
        m = match_row(self.table, path)
        place = where(self.part.grid, r)
        if m.item is None:
            if self.has_figures(r) and last_of_part and path:
                self.reading.pending = Pending(self, r, path, m, place)
            elif self.has_figures(r):
                _unmatched(self.reading, m, path, place, "import_unknown_row")
            return
        self.reading.fuzzy(m, path[-1] if path else "", place)
        if not m.item.children:
            self.row(r, m.item, " / ".join(p.strip() for p in path))
        elif self.has_figures(r):
            children = "、".join(f"“{x.label}”" for x in m.item.children)
            self.reading.problems.append(problem("import_group_row", sheet=place, value=path[-1], children=children))

    def start(self) -> int:
        return body_start(self.table, self.part)

    def row(self, r: int, spec_row: Row, printed_label: str) -> None:
        line = self.part.grid.rows[r]
        spans: dict[tuple[int, int], set[str]] = {}  # a printed cell -> the spec columns it lies under
        for c, column in self.columns.columns.items():
            if c < len(line):
                spans.setdefault(line[c].origin, set()).add(column.id)
        for c, column in self.values(r):
            cell = line[c]
            if cell.origin[0] != r or len(spans[cell.origin]) > 1:
                if cell.text.strip():
                    place = where(self.part.grid, r, c)
                    self.reading.problems.append(problem("import_merged_value", sheet=place, value=cell.text.strip()))
                continue
            self.figure(r, c, spec_row, column, printed_label)

    def figure(self, r: int, c: int, spec_row: Row, column: Column, printed_label: str) -> None:
        cell_id = f"{self.table.id}.{spec_row.id}.{column.id}"
        spec_cell = self.form.cells[cell_id]
        printed = self.part.grid.text(r, c)
        place = where(self.part.grid, r, c)
        reading = read_figure(printed, spec_cell.kind, self.columns.units.get(c, ""))
        labels = spec_cell.label
        if reading.value is None:
            code = "import_not_integer" if reading.code == "not_integer" else "import_not_a_number"
            self.reading.problems.append(problem(code, sheet=place, cell_id=cell_id, labels=labels, value=printed.strip()))
            return
        if cell_id in self.reading.figures:
            first = self.reading.figures[cell_id]
            dup = problem(
                "import_duplicate", sheet=place, cell_id=cell_id, labels=labels, value=printed.strip(), expected=first.printed
            )
            self.reading.problems.append(dup)
            return
        self.note(reading, place, cell_id, labels, printed)
        self.reading.figures[cell_id] = Figure(
            cell_id,
            reading.value,
            self.part.grid.number,
            r + 1,
            c + 1,
            printed_label,
            self.columns.paths.get(c, ""),
            printed,
            total=spec_cell.computed,
        )

    def note(self, reading, place: str, cell_id: str, labels: str, printed: str) -> None:
        if reading.code == "blank":
            self.reading.blanks.setdefault(self.table.id, []).append(place)
        elif reading.code in ("dash", "unit", "yuan"):
            code = f"import_{reading.code}"
            self.reading.problems.append(
                problem(code, sheet=place, cell_id=cell_id, labels=labels, value=printed.strip(), normalised=reading.normalised)
            )


# ---------------------------------------------------------------- a report's tables


def _continued(reading: Reading, part: Part) -> Table | None:
    """The table of the part just before, when this one shows no label at all but fits its columns
    (table 四's one row of figures pushed to the next page, under no header)."""
    table = reading.last_table
    columns = reading.last_map.get(table.id) if table else None
    if columns is None or columns.width != part.grid.width or body_start(table, part) != part.start:
        return None
    return table


def read_part(reading: Reading, part: Part) -> None:
    table = part.table or choose_table(reading.form, part) or _continued(reading, part)
    reading.last_table = table
    if table is None:
        return
    if part.caption is not None:
        reading.fuzzy(part.caption[1], part.caption[0], where(part.grid, part.start - 1))
    part.table = table
    reading.seen_tables.add(table.id)
    start = body_start(table, part)
    previous = reading.last_map.get(table.id)
    if previous is not None and previous.width != part.grid.width:
        previous = None  # columns of another width: reusing them would read figures into the wrong cells
    columns = _Columns(reading, table, part, start).build() if start > part.start else None
    if columns is None or (not columns.columns and previous is not None):
        columns = previous  # a table continued after a page break, its header not repeated (or cut off)
    if columns is None:
        return
    reading.last_map[table.id] = columns
    _Rows(reading, table, part, columns).read()


def read_tables(form: Form, grids: list[Grid]) -> Reading:
    """Every figure the grids give for the form's tables, with the problems of reading them."""
    reading = Reading(form)
    for grid in grids:
        for part in split(form, grid):
            read_part(reading, part)
    reading.settle()
    for places in reading.blanks.values():
        examples = "、".join(places[:3]) + ("等" if len(places) > 3 else "")
        reading.problems.append(problem("import_blank", sheet=places[0], count=len(places), examples=examples))
    return reading
