"""Writing the index: text analysis, the Whoosh schema, mined abbreviations, the folder layout,
and builds, updates and deletes (`store`)."""
