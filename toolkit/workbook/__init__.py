"""workbook: the locked .xlsx an agency fills in: written once per form, stamped per agency, mailed in batches."""
