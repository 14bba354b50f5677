"""Demo data for `ordino demo`: a realistic B2B world loaded through the product's own code."""

from ordino.demo.data import DemoSummary, load_demo

__all__ = ["DemoSummary", "load_demo"]
