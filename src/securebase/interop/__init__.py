"""Adapters to and from other systems: REDCap data dictionaries and records, CDISC ODM, CSV/Parquet."""
