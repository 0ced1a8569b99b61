# Independent check of Pocock-Simon minimisation scores and Han et al. (2009) biased-coin probabilities.
# Rerun from the repository root:
#   .venv/bin/python tests/reference/randomisation/make_minimisation_case.py
#   Rscript tests/reference/randomisation/minimisation.R
# Reads minimisation_case.csv (participants in allocation order with the arm each was given) and, for
# each participant, from the allocations before it, computes for every candidate arm the weighted
# imbalance G (range, variance, marginal balance of ratio-adjusted counts at the participant's levels)
# and the allocation probabilities (ties shared in proportion to the ratios; Han, Enas & McEntegart,
# Stat Med 2009;28:3329: the lowest-ratio arm gets p, arm k gets 1 - (1 - p) * sum_{j!=k} r_j / sum_{j!=L} r_j,
# non-preferred arms share 1 - p_k in proportion to their ratios). Writes minimisation.json.
library(jsonlite)
here <- "tests/reference/randomisation"
d <- read.csv(file.path(here, "minimisation_case.csv"), stringsAsFactors = FALSE)
arms <- c("intervention", "usual_care")
factors <- c("site", "age_band", "care_status")
weights <- c(1, 0.5, 2)
p <- 0.8

imb <- function(x, how) {
  if (how == "range") return(max(x) - min(x))
  if (how == "variance") return(var(x))
  k <- length(x); s <- 0
  for (i in 1:(k - 1)) for (j in (i + 1):k) s <- s + abs(x[i] - x[j])
  s / ((k - 1) * sum(x))
}

han <- function(r, p) {
  K <- length(r); L <- which.min(r); H <- matrix(0, K, K)
  for (k in 1:K) {
    pk <- 1 - (1 - p) * (sum(r) - r[k]) / (sum(r) - r[L])
    H[k, ] <- (1 - pk) * r / (sum(r) - r[k])
    H[k, k] <- pk
  }
  H
}

out <- list()
for (ratio in list(c(2, 1), c(1, 1))) {
  H <- han(ratio, p)
  for (how in c("range", "variance", "marginal")) {
    G <- matrix(0, nrow(d), 2); P <- matrix(0, nrow(d), 2)
    for (i in seq_len(nrow(d))) {
      prev <- d[seq_len(i - 1), , drop = FALSE]
      for (cand in 1:2) {
        g <- 0
        for (f in seq_along(factors)) {
          same <- prev[prev[[factors[f]]] == d[[factors[f]]][i], , drop = FALSE]
          n <- c(sum(same$arm == arms[1]), sum(same$arm == arms[2]))
          n[cand] <- n[cand] + 1
          g <- g + weights[f] * imb(n / ratio, how)
        }
        G[i, cand] <- g
      }
      tied <- G[i, ] <= min(G[i, ]) + 1e-9
      w <- tied * ratio; w <- w / sum(w)
      P[i, ] <- as.vector(w %*% H)
    }
    out[[paste0(how, "_", paste(ratio, collapse = "to"))]] <- list(G = G, P = P)
  }
}
writeLines(toJSON(out, digits = NA, matrix = "rowmajor"), file.path(here, "minimisation.json"))
