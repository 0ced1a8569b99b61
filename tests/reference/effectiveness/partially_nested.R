# Reference for PartiallyNested: nlme::lme with a therapist random effect in the intervention arm only
# (random = ~ 0 + treat | cluster; usual-care participants are singleton clusters) and residual
# variance by arm (varIdent), REML.
# Rerun: Rscript tests/reference/effectiveness/partially_nested.R  (writes partially_nested.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
suppressPackageStartupMessages(library(nlme))
dir <- here(); d <- read_trial(dir)
d <- d[!is.na(d$sdq_total_12), ]
d$cluster <- ifelse(d$treat == 1, d$therapist, d$participant_id)
fit <- lme(sdq_total_12 ~ treat + sdq_total_0 + site + age_band + care_status, random = ~ 0 + treat | cluster,
           weights = varIdent(form = ~ 1 | treat), data = d, method = "REML",
           control = lmeControl(tolerance = 1e-12, msTol = 1e-12, maxIter = 200, msMaxIter = 200, niterEM = 100))
s <- summary(fit)$tTable
vc <- as.numeric(VarCorr(fit)[, "StdDev"])
ratio <- coef(fit$modelStruct$varStruct, unconstrained = FALSE)
write_ref(list(coefficients = coefs(s[, 1], s[, 2]), df = unname(s[, "DF"]), tau = vc[1], sigma = fit$sigma,
               sigma_ratio = unname(ratio), ratio_group = names(ratio), reml_loglik = as.numeric(fit$logLik)), dir, "partially_nested")
