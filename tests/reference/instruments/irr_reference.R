# Inter-rater reliability reference values from R psych (ICC: all six Shrout-Fleiss forms with F,
# df, p and 95% bounds; cohen.kappa: weighted kappa with default quadratic weights and its bounds).
# Rerun from the project root:
#   .venv/bin/python tests/reference/instruments/irr_generate.py
#   Rscript tests/reference/instruments/irr_reference.R
library(psych)
library(jsonlite)
here <- if (dir.exists("tests/reference/instruments")) "tests/reference/instruments" else "."

r <- read.csv(file.path(here, "irr_ratings.csv"))
x <- as.matrix(r[, c("coder_a", "coder_b", "coder_c")])
ic <- ICC(x)
res <- ic$results
icc_out <- list()
for (i in seq_len(nrow(res))) {
  nm <- c("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")[i]
  icc_out[[nm]] <- list(type = as.character(res$type[i]), value = res$ICC[i], F = res$F[i],
                        df1 = res$df1[i], df2 = res$df2[i], p = res$p[i],
                        lower = res$`lower bound`[i], upper = res$`upper bound`[i])
}
# The same with lmer = FALSE (ANOVA mean squares only; psych's default lmer = TRUE estimates the
# variance components by REML, which agrees to about 1e-7 on complete data).
ica <- ICC(x, lmer = FALSE)$results
icc_aov <- list()
for (i in seq_len(nrow(ica))) {
  nm <- c("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")[i]
  icc_aov[[nm]] <- list(value = ica$ICC[i], F = ica$F[i], df1 = ica$df1[i], df2 = ica$df2[i],
                        p = ica$p[i], lower = ica$`lower bound`[i], upper = ica$`upper bound`[i])
}
# Two-coder ICC on the first two columns as well.
ic2 <- ICC(x[, 1:2])$results
icc2_out <- list()
for (i in seq_len(nrow(ic2))) {
  nm <- c("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")[i]
  icc2_out[[nm]] <- list(value = ic2$ICC[i], F = ic2$F[i], df1 = ic2$df1[i], df2 = ic2$df2[i],
                         p = ic2$p[i], lower = ic2$`lower bound`[i], upper = ic2$`upper bound`[i])
}

p <- read.csv(file.path(here, "irr_pairs.csv"))
ck <- cohen.kappa(cbind(p$primary, p$second))
kw <- ck$confid["weighted kappa", ]
kappa_out <- list(weighted_kappa = ck$weighted.kappa, lower = kw[["lower"]], upper = kw[["upper"]],
                  var_weighted = ck$var.weighted, unweighted_kappa = ck$kappa,
                  n = ck$n.obs)
# The same for the three-coder table's first two coders (1-9 scale, not every level used).
ck9 <- cohen.kappa(x[, 1:2])
kw9 <- ck9$confid["weighted kappa", ]
kappa9_out <- list(weighted_kappa = ck9$weighted.kappa, lower = kw9[["lower"]], upper = kw9[["upper"]],
                   var_weighted = ck9$var.weighted, n = ck9$n.obs)

out <- list(psych_version = as.character(packageVersion("psych")), icc_3raters = icc_out, icc_3raters_aov = icc_aov,
            icc_2raters = icc2_out, kappa_pairs = kappa_out, kappa_ab = kappa9_out)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "irr_reference.json"))
print(ic)
print(ck)
