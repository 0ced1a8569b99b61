# Reference for Cox, kaplan_meier and aalen_johansen: survival::coxph (Efron), survfit, cmprsk::cuminc.
# Rerun: Rscript tests/reference/effectiveness/cox.R  (writes cox.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
suppressPackageStartupMessages({library(survival); library(cmprsk)})
dir <- here(); d <- read_trial(dir)
d$ev1 <- as.integer(d$placement_end_event == 1)
ctl <- coxph.control(eps = 1e-13, toler.chol = 1e-15, iter.max = 100)
f1 <- coxph(Surv(placement_end_time, ev1) ~ treat + sdq_total_0 + age_band + care_status, data = d,
            ties = "efron", control = ctl)
f2 <- coxph(Surv(placement_end_time, ev1) ~ treat + sdq_total_0 + age_band + care_status + strata(site),
            data = d, ties = "efron", control = ctl)
km <- survfit(Surv(placement_end_time, ev1) ~ treat, data = d)
kms <- summary(km)
ci <- cuminc(d$placement_end_time, d$placement_end_event, group = d$treat, cencode = 0)
tp <- c(50, 100, 200, 300, 364)
ct <- timepoints(ci, tp)$est
write_ref(list(
  unstratified = list(coefficients = coefs(coef(f1), sqrt(diag(vcov(f1)))), loglik = f1$loglik[2]),
  stratified = list(coefficients = coefs(coef(f2), sqrt(diag(vcov(f2)))), loglik = f2$loglik[2]),
  km = list(strata = as.character(kms$strata), time = kms$time, surv = kms$surv, se = kms$std.err),
  cuminc = list(times = tp, rows = rownames(ct), est = unname(split(ct, row(ct))))), dir, "cox")
