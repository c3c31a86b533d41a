"""PDF of a report through LibreOffice headless: a private profile, Chinese font names mapped, the process group killed."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from toolkit.core.errors import UserError

INSTALL_HINT = "请运行 apt-get install libreoffice-calc libreoffice-writer fonts-noto-cjk"


class OfficeError(UserError):
    """LibreOffice is missing, failed or timed out. One Chinese line, like every UserError."""


# ---------------------------------------------------------------- discovery


def find_soffice() -> str | None:
    """The soffice (or libreoffice) executable, or None."""
    for name in ("soffice", "libreoffice"):
        path = shutil.which(name)
        if path:
            return path
    return None


def _require_soffice() -> str:
    soffice = find_soffice()
    if soffice is None:
        raise OfficeError(f"未安装 LibreOffice：{INSTALL_HINT}")
    return soffice


# ---------------------------------------------------------------- environment


def fonts_conf_path() -> Path:
    """toolkit/reports/fonts.conf: Windows Chinese font names mapped to the faces Debian ships."""
    return Path(str(resources.files("toolkit.reports").joinpath("fonts.conf")))


def _uno_env() -> dict[str, str]:
    """The environment for soffice (and the tests' UNO helper): nothing from the project's pyenv/venv may leak in."""
    drop = ("PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE", "VIRTUAL_ENV", "PYENV_VERSION")
    return {k: v for k, v in os.environ.items() if k not in drop}


def _office_env() -> dict[str, str]:
    env = _uno_env()
    conf = fonts_conf_path()
    if conf.is_file():
        env["FONTCONFIG_FILE"] = str(conf)
    env.setdefault("SAL_USE_VCLPLUGIN", "svp")  # headless rendering, no X display needed
    return env


def _profile_args(profile: Path) -> list[str]:
    return [f"-env:UserInstallation={profile.as_uri()}", "--headless", "--invisible", "--nologo", "--norestore", "--nodefault"]


def _kill(proc: subprocess.Popen) -> None:
    """End soffice and whatever it spawned (oosplash → soffice.bin): its own process group."""
    if proc.poll() is not None:
        return
    for sig, wait in ((signal.SIGTERM, 3), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


# ---------------------------------------------------------------- PDF


def convert_to_pdf(paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike, timeout: float = 180) -> list[Path]:
    """Convert documents (docx, xlsx, …) to PDF in one soffice run; returns the PDFs in input order."""
    return convert(paths, out_dir, "pdf", timeout)


def convert(paths: Iterable[str | os.PathLike], out_dir: str | os.PathLike, to: str, timeout: float = 180) -> list[Path]:
    """Convert documents in one soffice run (`to` as soffice takes it: "pdf", "docx:MS Word 2007 XML");
    returns the converted files in input order.

    Uses a private LibreOffice profile (so it works while another soffice is running) and
    toolkit/reports/fonts.conf, so 宋体/仿宋_GB2312/黑体/楷体 render in matching Chinese faces.
    """
    suffix = "." + to.split(":", maxsplit=1)[0]
    sources = [Path(p).resolve() for p in paths]
    if not sources:
        return []
    soffice = _require_soffice()
    for src in sources:
        if not src.is_file():
            raise OfficeError(f"找不到要转换的文件：{src}")
    stems = [s.stem for s in sources]
    if len(set(stems)) != len(stems):
        dup = next(s for s in stems if stems.count(s) > 1)
        raise OfficeError(f"多个文件同名（{dup}），转换后会互相覆盖，请分开转换")
    out = Path(out_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    targets = [out / (s.stem + suffix) for s in sources]
    for t in targets:
        t.unlink(missing_ok=True)
    with tempfile.TemporaryDirectory(prefix="toolkit-lo-") as tmp:
        cmd = [soffice, *_profile_args(Path(tmp) / "profile"), "--convert-to", to, "--outdir", str(out), *map(str, sources)]
        proc = subprocess.Popen(
            cmd, env=_office_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True, cwd=tmp
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise OfficeError(f"LibreOffice 转换 {suffix[1:].upper()} 超时（{timeout:g} 秒）") from None
        finally:
            _kill(proc)
    missing = [s.name for s, t in zip(sources, targets, strict=True) if not t.is_file() or t.stat().st_size == 0]
    if missing:
        detail = err.decode("utf-8", "replace").strip().splitlines()[-1:] if err else []
        raise OfficeError(
            f"LibreOffice 未能转换为 {suffix[1:].upper()}：{'、'.join(missing)}" + (f"（{detail[0]}）" if detail else "")
        )
    return targets
