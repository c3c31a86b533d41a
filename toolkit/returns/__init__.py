"""returns: a return as data (Return), what is wrong with it (Problem) and the catalogue of problem codes."""
