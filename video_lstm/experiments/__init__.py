"""Experiments that combine training runs: `few_labels`, the few-labels study."""
