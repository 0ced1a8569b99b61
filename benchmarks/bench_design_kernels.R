# Timing baseline for benchmarks/bench_design_kernels.py: an R lm loop over simulated trials.
# Usage: Rscript benchmarks/bench_design_kernels.R DATA.csv   (columns: trial, y, treat, x1..x6)
# Prints the seconds per trial (best of 3 runs) for lm() + summary() coefficients, excluding reading.
args <- commandArgs(trailingOnly = TRUE)
d <- read.csv(args[1])
trials <- split(d, d$trial)
fit_all <- function() vapply(trials, function(x) {
  s <- summary(lm(y ~ treat + x1 + x2 + x3 + x4 + x5 + x6, data = x))$coefficients
  s["treat", 4]
}, numeric(1))
el <- Inf
for (rep in 1:3) {  # best of 3, as for the Python timings
  t0 <- proc.time()[["elapsed"]]
  out <- fit_all()
  el <- min(el, proc.time()[["elapsed"]] - t0)
}
cat(sprintf("%.10f %d %.10f\n", el / length(trials), length(trials), out[[1]]))
