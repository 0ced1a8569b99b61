# Reference for NegativeBinomial and Poisson: MASS::glm.nb and glm(poisson).
# Rerun: Rscript tests/reference/effectiveness/counts.R  (writes counts.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
suppressPackageStartupMessages(library(MASS))
dir <- here(); d <- read_trial(dir)
f <- exclusions_12 ~ treat + sdq_total_0 + site + age_band + care_status
nb <- glm.nb(f, data = d, control = glm.control(epsilon = 1e-14, maxit = 200))
po <- glm(f, family = poisson, data = d, control = glm.control(epsilon = 1e-14, maxit = 100))
snb <- summary(nb)$coefficients; spo <- summary(po)$coefficients
write_ref(list(call = "MASS::glm.nb(exclusions_12 ~ treat + sdq_total_0 + site + age_band + care_status)",
               negbin = list(coefficients = coefs(snb[, 1], snb[, 2]), theta = nb$theta, theta_se = nb$SE.theta),
               poisson = list(coefficients = coefs(spo[, 1], spo[, 2]))), dir, "counts")
