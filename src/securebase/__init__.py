"""securebase: run and analyse the NICE NG26 attachment trials, from design to final report."""

__version__ = "0.1.0"

__all__ = ["__version__"]
