"""Measurement and inspection utilities behind tools/analysis/."""
