"""Which official fonts (GB/T 9704) this machine lacks, and what the PDF shows instead.

The PDF never fails for a missing font: fonts.conf maps each name to a Simplified-Chinese face.
But a clerk about to send a PDF out should know that 仿宋_GB2312 came out as Noto Serif CJK SC.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass

from toolkit.reports.pdf import fonts_conf_path


@dataclass(frozen=True)
class OfficialFont:
    name: str  # as the templates name it
    role: str
    aliases: tuple[str, ...]  # any of these installed counts as the font


OFFICIAL_FONTS = (
    OfficialFont("方正小标宋简体", "标题", ("方正小标宋简体", "方正小标宋_GBK", "FZXiaoBiaoSong-B05S")),
    OfficialFont("仿宋_GB2312", "正文", ("仿宋_GB2312", "FangSong_GB2312", "仿宋", "FangSong")),
    OfficialFont("黑体", "一级标题、表头", ("黑体", "SimHei")),
    OfficialFont("楷体_GB2312", "二级标题", ("楷体_GB2312", "KaiTi_GB2312", "楷体", "KaiTi")),
    OfficialFont("宋体", "表格", ("宋体", "SimSun")),
)


def _run(args: list[str], env: dict[str, str] | None = None) -> str:
    try:
        done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False, env=env)
    except (OSError, subprocess.SubprocessError):
        return ""
    return done.stdout


def installed_families() -> set[str] | None:
    """Every font family the system's fontconfig knows (all names of each); None without fc-list."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    out = _run([fc_list, "--format", "%{family}\n"])
    return {name.strip() for line in out.splitlines() for name in line.split(",") if name.strip()}


def substitute(name: str) -> str:
    """The face LibreOffice draws `name` with under toolkit's fonts.conf (fc-match), or "" when unknown."""
    fc_match = shutil.which("fc-match")
    if fc_match is None:
        return ""
    env = {**os.environ, "FONTCONFIG_FILE": str(fonts_conf_path())}
    return _run([fc_match, "--format", "%{family[0]}", name], env).strip()


def missing_fonts(families: set[str] | None = None) -> list[OfficialFont]:
    """The official fonts none of whose names is installed ([] when fontconfig cannot be asked)."""
    families = installed_families() if families is None else families
    if families is None:
        return []
    return [f for f in OFFICIAL_FONTS if not families.intersection(f.aliases)]


def missing_fonts_message(families: set[str] | None = None) -> str:
    """One line naming each missing official font and its stand-in, or "" when all are installed."""
    missing = missing_fonts(families)
    if not missing:
        return ""
    parts = []
    for f in missing:
        stand_in = substitute(f.name)
        parts.append(f"{f.name}（{f.role}）" + (f"以 {stand_in} 代替" if stand_in else ""))
    return (
        "提示：本机没有公文字体 " + "；".join(parts) + "。PDF 字形为简体中文，但字体与公文要求不同；安装方法见 README“字体”一节。"
    )
