"""toolkit: the 政府信息公开工作年度报告 pipeline: template, check, report, merge (API: toolkit.pipeline)."""

from toolkit.core.version import __version__

__all__ = ["__version__", "check_return", "read_return"]


def read_return(path, forms=None):
    """Read one returned workbook (see toolkit.pipeline.read_return); imported on use to keep start-up short."""
    from toolkit.pipeline import read_return as _read

    return _read(path, forms)


def check_return(ret):
    """Add every rule's problems to a read-back return (see toolkit.checking.check.check_return)."""
    from toolkit.checking.check import check_return as _check

    return _check(ret)
