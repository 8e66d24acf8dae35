"""protiso's version, the one place it is written (the package and the report read it)."""

__version__ = "0.3.0"
