"""Cost effectiveness: the health-economics plan, costing, QALYs, SUR with bootstrap and multiple imputation,
decision outputs (ICER, INMB, CEAC, CEAF, EVPI) and plots. Differences are intervention minus usual care.

Modules: ``plan`` (the plan as data), ``costing``, ``qaly``, ``sur`` (systemfit-exact SUR and the batched
kernel), ``bootstrap``, ``mi`` (PMM by arm, Rubin's rules), ``engine`` (the joint pipeline), ``decision``,
``plots``, ``analysis`` (NG26 trials from the analysis datasets) and ``ben2023`` (the Ben et al. 2023 layout).
"""
