"""The AI standardiser: rows the rules could not read, read by a model, decided by the rules."""
