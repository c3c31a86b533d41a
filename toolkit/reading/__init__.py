"""reading: a returned file back into a Return: guards against hostile files, the OOXML parser, cell values, interpretation."""
