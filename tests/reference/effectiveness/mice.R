# Reference for MultipleImputation: mice by arm (method "norm", Bayesian linear regression) on the
# incomplete sdq_total_6 and sdq_total_12, the ANCOVA of sdq_total_12 in each completed set, pooled by
# mice::pool (Rubin's rules, Barnard-Rubin df). m = 200 so the Monte Carlo error of the pooled estimate is small.
# Rerun: Rscript tests/reference/effectiveness/mice.R  (writes mice.json; takes about a minute)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
suppressPackageStartupMessages(library(mice))
dir <- here(); d <- read_trial(dir)
d <- d[, c("treat", "sdq_total_0", "site", "age_band", "care_status", "sdq_total_6", "sdq_total_12")]
m <- 200
imp_arm <- function(sub, seed) {
  meth <- make.method(sub); meth[] <- ""; meth[c("sdq_total_6", "sdq_total_12")] <- "norm"
  pred <- make.predictorMatrix(sub); pred[, "treat"] <- 0
  mice(sub, m = m, maxit = 10, method = meth, predictorMatrix = pred, seed = seed, printFlag = FALSE)
}
imp <- rbind(imp_arm(d[d$treat == 1, ], 11), imp_arm(d[d$treat == 0, ], 12))
fit <- with(imp, lm(sdq_total_12 ~ treat + sdq_total_0 + site + age_band + care_status))
pl <- pool(fit)
s <- summary(pl)
row <- s[s$term == "treat", ]
pp <- pl$pooled[pl$pooled$term == "treat", ]
write_ref(list(m = m, estimate = row$estimate, se = row$std.error, df = row$df,
               within = pp$ubar, between = pp$b, total = pp$t), dir, "mice")
