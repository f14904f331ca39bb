"""Raiten: privacy-preserving camera analytics for stores."""

__version__ = "0.1.0"
