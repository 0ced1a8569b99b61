# Reference for Ancova: R lm on trial.csv.
# Rerun: Rscript tests/reference/effectiveness/ancova.R  (writes ancova.json beside this script)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
dir <- here(); d <- read_trial(dir)
fit <- lm(sdq_total_12 ~ treat + sdq_total_0 + site + age_band + care_status, data = d)
s <- summary(fit)$coefficients
ci <- confint(fit)["treat", ]
fit_i <- lm(sdq_total_12 ~ treat + sdq_total_0 + site + age_band + care_status + treat:age_band, data = d)
a <- anova(lm(sdq_total_12 ~ treat + sdq_total_0 + site + age_band + care_status, data = d[!is.na(d$sdq_total_12), ]), fit_i)
write_ref(list(call = "lm(sdq_total_12 ~ treat + sdq_total_0 + site + age_band + care_status)",
               coefficients = coefs(s[, 1], s[, 2]), ci = unname(ci), p_treat = s["treat", 4],
               df = fit$df.residual, n = nobs(fit),
               interaction_age_band = list(F = a$F[2], p = a$`Pr(>F)`[2],
                                           coefficients = coefs(coef(fit_i), sqrt(diag(vcov(fit_i)))))),
          dir, "ancova")
