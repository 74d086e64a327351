"""The sandbox side of grading: the only place student code ever runs."""
