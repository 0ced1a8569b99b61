# Independent computation of UK EQ-5D utilities for every health state, from the published
# coefficients (typed here from /work/shared/reference/README.md section 2, not from the Python):
#   3L, Dolan 1997 TTO: u = 1 - 0.081*[any level > 1] - 0.269*[any level = 3] - sum of decrements.
#   5L, Rowen et al. 2026: u = 1 - sum of decrements (additive).
# Writes eq5d_reference.json: {"eq5d_3l": {"11111": 1, ...}, "eq5d_5l": {...}}.
# Rerun from the project root: Rscript tests/reference/instruments/eq5d_reference.R
library(jsonlite)
here <- if (dir.exists("tests/reference/instruments")) "tests/reference/instruments" else "."

dec3 <- rbind(  # rows: MO, SC, UA, PD, AD; columns: level 1, 2, 3
  c(0, 0.069, 0.314),
  c(0, 0.104, 0.214),
  c(0, 0.036, 0.094),
  c(0, 0.123, 0.386),
  c(0, 0.071, 0.236))
dec5 <- rbind(  # rows: MO, SC, UA, PD, AD; columns: level 1..5
  c(0, 0.032, 0.058, 0.179, 0.279),
  c(0, 0.038, 0.060, 0.162, 0.206),
  c(0, 0.049, 0.086, 0.184, 0.212),
  c(0, 0.056, 0.066, 0.371, 0.479),
  c(0, 0.041, 0.126, 0.313, 0.391))

states <- function(levels) {
  g <- expand.grid(rep(list(1:levels), 5))
  g <- g[, 5:1]  # first dimension varies slowest
  as.matrix(g)
}

u3 <- function(s) {
  u <- 1 - sum(dec3[cbind(1:5, s)])
  if (any(s > 1)) u <- u - 0.081
  if (any(s == 3)) u <- u - 0.269
  u
}
u5 <- function(s) 1 - sum(dec5[cbind(1:5, s)])

s3 <- states(3)
s5 <- states(5)
out <- list(
  eq5d_3l = setNames(as.list(apply(s3, 1, u3)), apply(s3, 1, paste, collapse = "")),
  eq5d_5l = setNames(as.list(apply(s5, 1, u5)), apply(s5, 1, paste, collapse = ""))
)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA), file.path(here, "eq5d_reference.json"))
cat("3L states:", length(out$eq5d_3l), " 5L states:", length(out$eq5d_5l), "\n")
cat("33333 =", out$eq5d_3l[["33333"]], " 55555 =", out$eq5d_5l[["55555"]], "\n")
