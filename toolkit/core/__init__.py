"""core: what every stage needs and none owns: errors, safe files, batches, text and years."""
