"""Decision model beyond the trial: cohort Markov model, parameters with distributions, PSA, VOI.

* :mod:`.cohort` - vectorised cohort state-transition model (half-cycle correction, discounting);
* :mod:`.examples` - published worked examples it reproduces (Chancellor et al. 1997 HIV model);
* :mod:`.parameters` - parameters file (YAML) with a distribution per parameter, sampling, tornado ranges;
* :mod:`.ng26` - the NG26 placement-state model (placements, residential care, permanence, leaving care,
  maltreatment recurrence, entry to care);
* :mod:`.voi` - EVPI, EVPPI by non-parametric regression (Strong et al. 2014), EVSI (regression).
"""
