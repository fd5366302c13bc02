"""Experiments that combine training runs: `few_labels` (issue 13)."""
