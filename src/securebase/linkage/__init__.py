"""Routine records linked to participants (issue 21): SSDA903, the Children in Need census and school records.

- :mod:`.ssda903`, :mod:`.cin`, :mod:`.school`: readers of the DfE formats, with validation;
- :mod:`.link`: consent gate, encrypted identifiers, deterministic matching, idempotent and superseding imports;
- :mod:`.derive`: the linked view the analysis datasets read;
- :mod:`.report`: match rates (pooled; by site and arm for unblinded roles).
"""
