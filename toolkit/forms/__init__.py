"""forms: form specs (YAML) as typed objects, where their cells sit in a workbook, and their Excel formulas."""
