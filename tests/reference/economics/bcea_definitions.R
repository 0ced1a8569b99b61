# Independent computation of BCEA's decision quantities (Baio, Berardi & Heath 2017, ch. 3) for two options
# on a committed simulated replicate matrix (BCEA itself is not installable here and its Vaccine data are
# binary .rda): EIB, CEAC, ICER, EVPI, k* and the INMB normal approximation.
# Step 1 (once) simulates the matrix with a fixed seed and writes bcea_replicates.csv (columns e0, e1, c0, c1:
# effects and costs of usual care (0) and intervention (1), one row per simulation); step 2 computes
# the quantities with BCEA's definitions written out here from the book (reference = intervention).
# Rerun from the repository root:  Rscript tests/reference/economics/bcea_definitions.R
suppressPackageStartupMessages(library(jsonlite))
here <- "tests/reference/economics"
f <- file.path(here, "bcea_replicates.csv")
if (!file.exists(f)) {
  set.seed(26022026)
  S <- 2000
  e0 <- rnorm(S, 0.70, 0.03)
  c0 <- rgamma(S, shape = 40, rate = 40 / 4300)
  e1 <- e0 + rnorm(S, 0.012, 0.015)
  c1 <- c0 + rnorm(S, 280, 180)
  write.csv(data.frame(e0 = e0, e1 = e1, c0 = c0, c1 = c1), f, row.names = FALSE)
}
d <- read.csv(f)
k <- seq(0, 50000, by = 100)
delta_e <- d$e1 - d$e0
delta_c <- d$c1 - d$c0
ib <- sapply(k, function(kk) kk * delta_e - delta_c)            # S x K
eib <- colMeans(ib)
ceac <- colMeans(ib > 0)
icer <- mean(delta_c) / mean(delta_e)
nb0 <- sapply(k, function(kk) kk * d$e0 - d$c0)
nb1 <- sapply(k, function(kk) kk * d$e1 - d$c1)
evpi <- colMeans(pmax(nb0, nb1)) - pmax(colMeans(nb0), colMeans(nb1))  # mean max - max mean
kstar <- k[which(diff(sign(eib)) != 0) + 1]
ceaf <- ifelse(eib > 0, ceac, 1 - ceac)
V <- cov(cbind(delta_c, delta_e))
se_inb <- sqrt(k^2 * V[2, 2] + V[1, 1] - 2 * k * V[1, 2])
out <- list(k = k, eib = eib, ceac = ceac, ceaf = ceaf, evpi = evpi, icer = icer, kstar = kstar,
            mean_delta_c = mean(delta_c), mean_delta_e = mean(delta_e), cov = unname(V),
            inmb_normal_se = se_inb, ceac_normal = pnorm(eib / se_inb),
            at_25000 = list(eib = eib[k == 25000], ceac = ceac[k == 25000], evpi = evpi[k == 25000]),
            R_version = R.version.string)
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = FALSE), file.path(here, "bcea_definitions.json"))
cat("ICER", icer, "k*", kstar, "EIB(25000)", out$at_25000$eib, "CEAC", out$at_25000$ceac, "EVPI", out$at_25000$evpi, "\n")
