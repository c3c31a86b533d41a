"""importing: published annual reports (web page, .docx, text PDF) read back into returns, every figure traced."""
