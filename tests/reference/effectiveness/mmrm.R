# Reference for Mmrm: nlme::gls with corSymm (unstructured correlation) and varIdent by visit, REML;
# Satterthwaite df for the effect at each visit from emmeans (mode = "satterthwaite").
# Rerun: Rscript tests/reference/effectiveness/mmrm.R  (writes mmrm.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
suppressPackageStartupMessages({library(nlme); library(emmeans)})
dir <- here()
v <- read.csv(file.path(dir, "visits.csv"), stringsAsFactors = FALSE)
v <- v[!is.na(v$sdq_total), ]
for (x in c("site", "age_band", "care_status")) v[[x]] <- factor(v[[x]])
v$visit <- factor(v$visit_month, levels = c(6, 12)); v$vidx <- as.integer(v$visit)
fit <- gls(sdq_total ~ 0 + visit + site + age_band + care_status + visit:treat + visit:sdq_total_0, data = v,
           correlation = corSymm(form = ~ vidx | participant_id), weights = varIdent(form = ~ 1 | visit),
           method = "REML", control = glsControl(tolerance = 1e-12, msTol = 1e-12, maxIter = 200, msMaxIter = 200))
s <- summary(fit)$tTable
sig <- getVarCov(fit, individual = v$participant_id[which(duplicated(v$participant_id))[1]])
em <- emmeans(fit, ~ treat | visit, at = list(treat = c(0, 1)), mode = "satterthwaite")
pr <- as.data.frame(pairs(em, reverse = TRUE))
write_ref(list(call = "gls(sdq_total ~ 0 + visit + site + age_band + care_status + visit:treat + visit:sdq_total_0, corSymm, varIdent(~1|visit), REML)",
               coefficients = coefs(s[, 1], s[, 2]), sigma = unname(matrix(as.numeric(sig), 2, 2)), reml_loglik = as.numeric(fit$logLik),
               satterthwaite = list(visit = as.character(pr$visit), estimate = pr$estimate, se = pr$SE, df = pr$df)),
          dir, "mmrm")
