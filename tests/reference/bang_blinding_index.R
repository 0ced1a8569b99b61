# Bang's blinding index, 2x3 form, written from Bang, Ni and Davis (2004) Controlled Clinical Trials 25:143-156
# in the paper's own form (not the simplified (c - w)/n used in securebase), as an independent check.
# Run: Rscript tests/reference/bang_blinding_index.R  -> values stored in bang_blinding_index.txt (tolerance 1e-9)
bi <- function(correct, incorrect, dk) {
  n <- correct + incorrect + dk
  p_cond <- correct / (correct + incorrect)          # P(correct | a definite guess)
  p_def <- (correct + incorrect) / n                  # P(a definite guess)
  est <- (2 * p_cond - 1) * p_def
  p1 <- correct / n; p2 <- incorrect / n
  v <- (p1 * (1 - p1) + p2 * (1 - p2) + 2 * p1 * p2) / n
  se <- sqrt(v)
  c(est, se, est - qnorm(0.975) * se, est + qnorm(0.975) * se)
}
tabs <- list(intervention = c(10, 4, 6), usual_care = c(5, 9, 6), demo_a = c(31, 12, 47), demo_b = c(7, 7, 2))
for (nm in names(tabs)) {
  t <- tabs[[nm]]
  cat(sprintf("%s %d %d %d %.12f %.12f %.12f %.12f\n", nm, t[1], t[2], t[3], bi(t[1], t[2], t[3])[1],
              bi(t[1], t[2], t[3])[2], bi(t[1], t[2], t[3])[3], bi(t[1], t[2], t[3])[4]))
}
