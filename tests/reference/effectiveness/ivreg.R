# Reference for Cace: AER::ivreg two-stage least squares (complier on treat as instrument).
# Rerun: Rscript tests/reference/effectiveness/ivreg.R  (writes ivreg.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
suppressPackageStartupMessages(library(AER))
dir <- here(); d <- read_trial(dir)
fit <- ivreg(sdq_total_12 ~ complier + sdq_total_0 + site + age_band + care_status |
               treat + sdq_total_0 + site + age_band + care_status, data = d)
s <- summary(fit)$coefficients
write_ref(list(call = "ivreg(sdq_total_12 ~ complier + covs | treat + covs)", coefficients = coefs(s[, 1], s[, 2]),
               p = s["complier", 4], df = fit$df.residual), dir, "ivreg")
