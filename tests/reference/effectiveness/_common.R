# Shared helpers for the effectiveness reference scripts (sourced by each NAME.R).
suppressPackageStartupMessages(library(jsonlite))
here <- function() {
  args <- commandArgs(trailingOnly = FALSE)
  f <- sub("^--file=", "", args[grep("^--file=", args)])
  if (length(f)) dirname(normalizePath(f)) else "."
}
read_trial <- function(dir) {
  d <- read.csv(file.path(dir, "trial.csv"), stringsAsFactors = FALSE)
  for (v in c("site", "age_band", "care_status")) d[[v]] <- factor(d[[v]])
  d
}
coefs <- function(est, se) list(names = names(est), coef = unname(est), se = unname(se))
write_ref <- function(x, dir, name) {
  writeLines(toJSON(x, digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(dir, paste0(name, ".json")))
}
