"""Batched numpy kernels that fit thousands of simulated (or bootstrap) datasets at once.

Each kernel takes stacked arrays: covariates ``X`` of shape (B, n, p) (include the intercept column
yourself), outcomes of shape (B, n) and an optional boolean ``mask`` (B, n) of rows to use (False =
missing, so complete-case analyses of datasets with different missingness run in one call). Each returns
a :class:`BatchFit` with coefficients, standard errors, test statistics and p-values of shape (B, p).
statsmodels is the reference: the kernels agree with it to 1e-8 on the same data (tests/design).
"""

from securebase.analysis.kernels.common import BatchFit
from securebase.analysis.kernels.cox import fit_cox
from securebase.analysis.kernels.logistic import fit_logistic
from securebase.analysis.kernels.ols import fit_ols

__all__ = ["BatchFit", "fit_cox", "fit_logistic", "fit_ols"]
