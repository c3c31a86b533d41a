"""Failures of the system or of the command line (exit 2), kept apart from problems in a return."""

from __future__ import annotations

import errno


class UserError(Exception):
    """A command that cannot run: bad arguments, unreadable or unwritable files. One Chinese line."""


_OS_REASONS = {
    errno.ENOENT: "不存在",
    errno.EACCES: "没有权限",
    errno.EPERM: "没有权限",
    errno.ENOSPC: "磁盘空间不足",
    errno.EROFS: "所在的磁盘只读",
    errno.ENOTDIR: "路径中有一项是文件，不是文件夹",
    errno.EISDIR: "是文件夹",
    errno.EEXIST: "已存在",
    errno.ENAMETOOLONG: "文件名过长",
    errno.EBUSY: "正被其他程序使用",
}


def os_reason(e: OSError) -> str:
    """Why the system refused, in Chinese where the error is a common one (the system's strerror is English)."""
    if e.strerror and not e.strerror.isascii():  # ours, already Chinese (find_workbooks: 文件或文件夹不存在)
        return e.strerror
    return _OS_REASONS.get(e.errno, e.strerror or str(e))
