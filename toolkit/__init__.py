"""toolkit: the 政府信息公开工作年度报告 pipeline: template, check, report, merge."""

__version__ = "0.1.0"
