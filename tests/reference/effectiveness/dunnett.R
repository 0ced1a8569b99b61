# Reference for k-arm contrasts: multcomp::glht Dunnett (single-step adjusted p-values and simultaneous 95%
# intervals) on karm.csv, for 3 arms (2 contrasts: the bivariate t) and 4 arms (3 contrasts), with the
# precision of mvtnorm raised (GenzBretz abseps 1e-6) so its own numerical error is below the 1e-4 tolerance.
# Also the global F test (anova of the arm factor) and stats::p.adjust Holm of the unadjusted p-values.
# Rerun: Rscript tests/reference/effectiveness/dunnett.R > tests/reference/effectiveness/dunnett.json
suppressPackageStartupMessages(library(multcomp))
args <- commandArgs(trailingOnly = FALSE)
dir <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
d <- read.csv(file.path(dir, "karm.csv"), stringsAsFactors = FALSE)
d$site <- factor(d$site)
num <- function(x) paste0("[", paste(sprintf("%.12g", x), collapse = ", "), "]")
str <- function(x) paste0("[", paste0('"', x, '"', collapse = ", "), "]")
one <- function(sub, name) {
  sub$arm <- relevel(factor(sub$arm), ref = "usual_care")
  fit <- lm(sdq_total_12 ~ arm + sdq_total_0 + site, data = sub)
  set.seed(1)
  g <- glht(fit, linfct = mcp(arm = "Dunnett"))
  s <- summary(g, test = adjusted("single-step", algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-7)))
  set.seed(1)
  ci <- confint(g, level = 0.95, calpha = adjusted_calpha(algorithm = GenzBretz(maxpts = 5e6, abseps = 1e-7)))
  a <- anova(lm(sdq_total_12 ~ sdq_total_0 + site, data = sub), fit)
  raw <- 2 * pt(-abs(s$test$tstat), df = fit$df.residual)
  cat(sprintf('  "%s": {\n', name))
  cat(sprintf('    "contrasts": %s,\n', str(names(s$test$coefficients))))
  cat(sprintf('    "estimate": %s,\n    "se": %s,\n    "t": %s,\n', num(s$test$coefficients), num(s$test$sigma),
              num(s$test$tstat)))
  cat(sprintf('    "p_raw": %s,\n    "p_dunnett": %s,\n    "p_holm": %s,\n', num(raw), num(s$test$pvalues),
              num(p.adjust(raw, "holm"))))
  cat(sprintf('    "ci_lower": %s,\n    "ci_upper": %s,\n    "critical": %.12g,\n', num(ci$confint[, "lwr"]),
              num(ci$confint[, "upr"]), attr(ci$confint, "calpha")))
  cat(sprintf('    "F": %.12g,\n    "F_p": %.12g,\n    "df": %d\n  }', a$F[2], a[["Pr(>F)"]][2], fit$df.residual))
}
cat("{\n")
one(d[d$arm != "extra_arm", ], "three_arms")
cat(",\n")
one(d, "four_arms")
cat("\n}\n")
