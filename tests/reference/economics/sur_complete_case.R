# Reference values: complete-case SUR on the Ben et al. (2023) tutorial data with R systemfit defaults.
# Rerun from the repository root:  Rscript tests/reference/economics/sur_complete_case.R
# Writes tests/reference/economics/sur_complete_case.json (15 significant digits); also a gamma/log GLM
# for costs (the sensitivity analysis).
# Data: ben2023_cea_tutorial.csv, CC BY 4.0, Ben et al. 2023 PharmacoEconomics 41:1403 (angelajben/R-Tutorial).
suppressPackageStartupMessages({library(systemfit); library(jsonlite)})
here <- "tests/reference/economics"
d <- read.csv(file.path(here, "ben2023_cea_tutorial.csv"))
d$Tcosts <- d$Cm1 + d$Cm2 + d$Cm3 + d$Cm4
d$QALY <- 1/2 * ((d$E + d$Em1) / 4 + (d$Em1 + d$Em2) / 4 + (d$Em2 + d$Em3) / 4 + (d$Em3 + d$Em4) / 4)
cc <- d[complete.cases(d[, c("Tcosts", "QALY", "Tr", "C", "E", "age", "sex")]), ]
fit <- systemfit(list(costreg = Tcosts ~ Tr + C + age + sex, effectreg = QALY ~ Tr + E + age + sex),
                 method = "SUR", data = cc)
ctl <- systemfit.control()
# sensitivity: gamma GLM (log link) for costs; incremental cost by recycled predictions, delta-method SE
g <- glm(Tcosts ~ Tr + C + age + sex, family = Gamma(link = "log"), data = cc,
         control = glm.control(epsilon = 1e-14, maxit = 100))
X <- model.matrix(g); X1 <- X; X1[, "Tr"] <- 1; X0 <- X; X0[, "Tr"] <- 0
m1 <- exp(drop(X1 %*% coef(g))); m0 <- exp(drop(X0 %*% coef(g)))
grad <- colMeans(m1 * X1) - colMeans(m0 * X0)
out <- list(
  n = nrow(cc),
  ids = cc$id,
  control = list(maxiter = ctl$maxiter, methodResidCov = ctl$methodResidCov,
                 centerResiduals = ctl$centerResiduals, residCovRestricted = ctl$residCovRestricted),
  coef_names = names(coef(fit)),
  coefficients = unname(coef(fit)),
  vcov = unname(vcov(fit)),
  se = unname(sqrt(diag(vcov(fit)))),
  residCovEst = unname(fit$residCovEst),
  residCov = unname(fit$residCov),
  ols_coefficients = unname(coef(systemfit(list(costreg = Tcosts ~ Tr + C + age + sex,
                                                 effectreg = QALY ~ Tr + E + age + sex),
                                            method = "OLS", data = cc))),
  glm_coefficients = unname(coef(g)), glm_vcov = unname(vcov(g)),
  glm_incremental_cost = mean(m1) - mean(m0), glm_incremental_cost_se = sqrt(drop(t(grad) %*% vcov(g) %*% grad)),
  mean_Tcosts = mean(cc$Tcosts), mean_QALY = mean(cc$QALY),
  R_version = R.version.string, systemfit_version = as.character(packageVersion("systemfit"))
)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "sur_complete_case.json"))
print(summary(fit))
