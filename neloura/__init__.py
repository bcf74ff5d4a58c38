"""Neloura: a web platform for astronomical images."""

__version__ = "0.1.0"
