"""Safety services: safeguarding concerns, adverse events, protocol deviations and blinding checks."""
