# Reference for Logistic: R glm(binomial) and the g-computation risk difference (delta method plus
# covariate term, computed here from glm's coef/vcov).
# Rerun: Rscript tests/reference/effectiveness/logistic.R  (writes logistic.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
dir <- here(); d <- read_trial(dir)
fit <- glm(maltreatment_12 ~ treat + sdq_total_0 + site + age_band + care_status, family = binomial, data = d,
           control = glm.control(epsilon = 1e-14, maxit = 100))
s <- summary(fit)$coefficients
X <- model.matrix(fit); X1 <- X; X1[, "treat"] <- 1; X0 <- X; X0[, "treat"] <- 0
b <- coef(fit); p1 <- plogis(drop(X1 %*% b)); p0 <- plogis(drop(X0 %*% b))
rd <- mean(p1 - p0)
g <- colMeans(X1 * (p1 * (1 - p1))) - colMeans(X0 * (p0 * (1 - p0)))
rd_se <- sqrt(drop(t(g) %*% vcov(fit) %*% g) + var(p1 - p0) / nrow(X))
write_ref(list(call = "glm(maltreatment_12 ~ treat + sdq_total_0 + site + age_band + care_status, binomial)",
               coefficients = coefs(s[, 1], s[, 2]), p_treat = s["treat", 4], rd = rd, rd_se = rd_se,
               ci_or = unname(exp(b["treat"] + c(-1, 1) * qnorm(0.975) * s["treat", 2]))), dir, "logistic")
