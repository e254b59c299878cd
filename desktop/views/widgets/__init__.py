"""Shared pieces of the windows: value combos, item delegates, form sections, small tables."""
