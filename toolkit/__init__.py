"""toolkit: the 政府信息公开工作年度报告 pipeline: template, check, report, merge."""

__version__ = "0.1.0"


def read_return(path, forms=None):
    """Read one returned workbook (see toolkit.reader.read_return)."""
    from .reader import read_return as _read

    return _read(path, forms)


def check_return(ret):
    """Add every rule's problems to a read-back return (see toolkit.check.check_return)."""
    from .check import check_return as _check

    return _check(ret)
