# Reference fits for the batched kernels (securebase.analysis.kernels) on kernels_data.csv.
# Rerun from the repository root:
#   .venv/bin/python tests/reference/design/make_kernels_data.py
#   Rscript tests/reference/design/kernels.R        # writes kernels.json
# lm (OLS), glm(binomial) with a tight convergence tolerance, coxph with Breslow ties.
suppressPackageStartupMessages({library(survival); library(jsonlite)})
here <- "tests/reference/design"
d <- read.csv(file.path(here, "kernels_data.csv"))
fits <- lapply(split(d, d$dataset), function(x) {
  ols <- summary(lm(y ~ treat + age + base + female, data = x))$coefficients
  lg <- summary(glm(ybin ~ treat + age + base + female, family = binomial, data = x,
                    control = glm.control(epsilon = 1e-14, maxit = 100)))$coefficients
  cx <- summary(coxph(Surv(time, status) ~ treat + age + base + female, data = x, ties = "breslow",
                      control = coxph.control(eps = 1e-14, iter.max = 100, toler.chol = 1e-15)))$coefficients
  list(dataset = x$dataset[1],
       ols_coef = unname(ols[, 1]), ols_se = unname(ols[, 2]), ols_p = unname(ols[, 4]),
       logit_coef = unname(lg[, 1]), logit_se = unname(lg[, 2]), logit_p = unname(lg[, 4]),
       cox_coef = unname(cx[, "coef"]), cox_se = unname(cx[, "se(coef)"]), cox_p = unname(cx[, "Pr(>|z|)"]))
})
writeLines(toJSON(list(r_version = R.version.string, fits = unname(fits)), digits = NA, auto_unbox = TRUE,
                  pretty = TRUE), file.path(here, "kernels.json"))
cat("wrote", length(fits), "fits\n")
