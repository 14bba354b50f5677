"""Ordino: order management for B2B commerce."""

__version__ = "0.1.0"
