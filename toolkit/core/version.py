"""The toolkit's version: written into every workbook and collection it makes."""

__version__ = "0.1.0"
