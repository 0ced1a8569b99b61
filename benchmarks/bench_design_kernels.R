# Timing baseline for benchmarks/bench_design_kernels.py: an R lm loop over simulated trials.
# Usage: Rscript benchmarks/bench_design_kernels.R DATA.csv   (columns: trial, y, treat, x1..x6)
# Prints the seconds per trial for lm() + summary() coefficients (estimate, SE, t, p), excluding reading.
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
trials <- split(d, d$trial)
t0 <- proc.time()[["elapsed"]]
out <- vapply(trials, function(x) {
  s <- summary(lm(y ~ treat + x1 + x2 + x3 + x4 + x5 + x6, data = x))$coefficients
  s["treat", 4]
}, numeric(1))
el <- proc.time()[["elapsed"]] - t0
cat(sprintf("%.10f %d %.10f\n", el / length(trials), length(trials), out[[1]]))
