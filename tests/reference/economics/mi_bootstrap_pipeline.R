# Reference run of the full trial-based CEA pipeline of Ben et al. (2023) on their tutorial data:
# multiple imputation by arm (mice, PMM, m = 5), 5,000 bootstrap replicates (stratified by arm) of the
# SUR in each imputed set, pooled by Rubin's rules; CEAC by the bootstrap share and the normal approximation.
# Differences from the paper's script: `id` is excluded as an imputation predictor (like `Tr`), and
# boot() resamples within arm (strata = Tr), as securebase does.
# Rerun from the repository root (about 8 minutes):  Rscript tests/reference/economics/mi_bootstrap_pipeline.R
# Writes mi_bootstrap_pipeline.json and ben2023_mice_imputations.csv (the imputed sets, long form).
# Data: ben2023_cea_tutorial.csv, CC BY 4.0, Ben et al. 2023 PharmacoEconomics 41:1403 (angelajben/R-Tutorial).
suppressPackageStartupMessages({library(mice); library(systemfit); library(boot); library(jsonlite)})
here <- "tests/reference/economics"
d <- read.csv(file.path(here, "ben2023_cea_tutorial.csv"))
pred <- make.predictorMatrix(d)
pred[, c("Tr", "id")] <- 0
imp0 <- mice(d[d$Tr == 0, ], m = 5, method = "pmm", predictorMatrix = pred, seed = 1234, printFlag = FALSE)
imp1 <- mice(d[d$Tr == 1, ], m = 5, method = "pmm", predictorMatrix = pred, seed = 1234, printFlag = FALSE)
long <- complete(rbind(imp0, imp1), action = "long", include = FALSE)
long$Tcosts <- long$Cm1 + long$Cm2 + long$Cm3 + long$Cm4
long$QALY <- 1/2 * ((long$E + long$Em1) / 4 + (long$Em1 + long$Em2) / 4 + (long$Em2 + long$Em3) / 4 +
                    (long$Em3 + long$Em4) / 4)
write.csv(long[, c(".imp", "id", "age", "sex", "Tr", "C", "E", "Cm1", "Em1", "Cm2", "Em2", "Cm3", "Em3",
                   "Cm4", "Em4")], file.path(here, "ben2023_mice_imputations.csv"), row.names = FALSE)
fsur <- function(x, i) {
  fit <- systemfit(list(costreg = Tcosts ~ Tr + C + age + sex, effectreg = QALY ~ Tr + E + age + sex),
                   "SUR", data = x[i, ])
  b <- coef(fit)
  c(b[["costreg_Tr"]], b[["effectreg_Tr"]])
}
set.seed(20231403)
M <- 5
sets <- split(long, long$.imp)
boots <- lapply(sets, function(x) boot(data = x, statistic = fsur, R = 5000, strata = x$Tr))
est <- t(sapply(boots, function(b) b$t0))
covs <- lapply(boots, function(b) cov(b$t))
pooled <- colMeans(est)
W <- Reduce(`+`, covs) / M
B <- cov(est)
Tcov <- W + (1 + 1 / M) * B
wtp <- seq(0, 80000, 1000)
inb <- wtp * pooled[2] - pooled[1]
se_inb <- sqrt(wtp^2 * Tcov[2, 2] + Tcov[1, 1] - 2 * wtp * Tcov[1, 2])
stacked <- do.call(rbind, lapply(boots, function(b) b$t))
ceac_boot <- sapply(wtp, function(k) mean(k * stacked[, 2] - stacked[, 1] > 0))
out <- list(
  estimates_per_imputation = unname(est), bootstrap_cov_per_imputation = lapply(covs, unname),
  pooled = unname(pooled), W = unname(W), B = unname(B), T = unname(Tcov),
  se_pooled = unname(sqrt(diag(Tcov))), icer = unname(pooled[1] / pooled[2]),
  wtp = wtp, inb = unname(inb), se_inb = unname(se_inb), ceac_normal = unname(pnorm(inb / se_inb)),
  ceac_bootstrap = ceac_boot, n_boot = 5000, m = M,
  R_version = R.version.string, mice_version = as.character(packageVersion("mice")),
  systemfit_version = as.character(packageVersion("systemfit"))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "mi_bootstrap_pipeline.json"))
