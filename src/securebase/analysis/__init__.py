"""Analysis: datasets, clinical effectiveness, cost effectiveness and trial design."""
