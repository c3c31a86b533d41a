"""Write the hostile returns of the reading-hardening work into a folder, to measure `toolkit check` on them.

    python benchmarks/hostile.py /tmp/hostile
    /usr/bin/time -v toolkit check /tmp/hostile/3-shared-string-1mb.xlsx

Each file is built from a valid sample (samples/returns-2024/) by tests/hostile_returns.py, the
same builders the tests use:

  1-bad-local-name.xlsx        a member's local-header name is not UTF-8 while its flags say it is
  2-escapes.xlsx               _xD800_, _x001B_[2K, C1 and bidi controls in a label, 基本信息 and a text
  2-escapes-accepted.xlsx      the same in 基本信息 and a text only (accepted, so it reaches merge outputs)
  3-shared-string-1mb.xlsx     every number cell points at one 1 MB shared string
  3-shared-string-19mb.xlsx    the same with 19 MB (under the 20 MB part limit)
  6-hidden-duplicate.xlsx      a hidden second 三、依申请公开 with valid values; the visible one has “12件”
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import hostile_returns as h  # the builders live with the tests

MB = 1024 * 1024

FILES = {
    "1-bad-local-name.xlsx": h.bad_local_name,
    "2-escapes.xlsx": h.escapes_everywhere,
    "2-escapes-accepted.xlsx": lambda x: h.escapes_everywhere(x, label=False),
    "3-shared-string-1mb.xlsx": lambda x: h.huge_shared_string(x, MB),
    "3-shared-string-19mb.xlsx": lambda x: h.huge_shared_string(x, 19 * MB),
    "6-hidden-duplicate.xlsx": h.hidden_duplicate,
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path)
    args = parser.parse_args()
    args.folder.mkdir(parents=True, exist_ok=True)
    good = h.sample_bytes()
    for name, build in FILES.items():
        path = args.folder / name
        path.write_bytes(build(good))
        print(f"{path}  {path.stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
