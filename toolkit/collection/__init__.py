"""collection: many returns merged: every input's fate, the totals, collection.xlsx/.docx, summary.docx, last year's collection."""
