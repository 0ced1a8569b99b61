# EVPPI by GAM regression (Strong, Oakley & Brennan 2014) with R mgcv, on the committed PSA-like samples
# evppi_samples.csv (written by Python with seed 20261202; see tests/economics/test_model_voi.py).
# Two options: INB of option 1 vs option 0. EVPPI = mean(max(0, g)) - max(0, mean(g)), g = fitted GAM.
# Run from the repository root: Rscript tests/reference/economics/evppi_gam.R > tests/reference/economics/evppi_gam_r.json
suppressMessages(library(mgcv))
d <- read.csv("tests/reference/economics/evppi_samples.csv")
ev <- function(g) mean(pmax(0, g)) - max(0, mean(g))
fit <- function(f) ev(fitted(gam(f, data = d)))
out <- list(
  mgcv_version = as.character(packageVersion("mgcv")),
  linear_x1 = fit(inb_linear ~ s(x1)),
  linear_x2 = fit(inb_linear ~ s(x2)),
  linear_x1_x2 = fit(inb_linear ~ s(x1) + s(x2)),
  linear_evpi = ev(d$inb_linear),
  nonlin_x1 = fit(inb_nonlin ~ s(x1)),
  nonlin_x3 = fit(inb_nonlin ~ s(x3)),
  nonlin_x2_x3_additive = fit(inb_nonlin ~ s(x2) + s(x3)),
  nonlin_x2_x3_tensor = fit(inb_nonlin ~ te(x2, x3)),
  nonlin_evpi = ev(d$inb_nonlin)
)
cat("{\n", paste(sprintf('  "%s": %s', names(out), sapply(out, function(v)
  if (is.character(v)) sprintf('"%s"', v) else sprintf("%.10f", v))), collapse = ",\n"), "\n}\n", sep = "")
