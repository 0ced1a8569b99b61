# Reference values for securebase.analysis.design closed forms.
# Rerun from the repository root:
#   .venv/bin/python tests/reference/design/make_cases.py   # writes closed_form_cases.csv
#   Rscript tests/reference/design/closed_form.R             # writes closed_form.json
# Uses R's power.t.test / power.prop.test (stats), pwr 1.3.0 (pwr.t.test, pwr.t2n.test, pwr.2p.test,
# pwr.2p2n.test, ES.h) and our own R code for ANCOVA, events (Schoenfeld, Freedman), event probability
# (numerical integration), counts, design effects and Holm conjunctive power (two independent outcomes).
suppressPackageStartupMessages({library(pwr); library(jsonlite)})
here <- "tests/reference/design"
cases <- read.csv(file.path(here, "closed_form_cases.csv"))
z <- function(p) qnorm(p)
value <- function(r) {
  a <- r$alpha
  switch(r$kind,
    ttest_n = pwr.t.test(d = r$d, power = r$power, sig.level = a)$n,
    ttest_power = pwr.t.test(n = r$n, d = r$d, sig.level = a)$power,
    t2n_power = pwr.t2n.test(n1 = r$n1, n2 = r$n2, d = r$d, sig.level = a)$power,
    powert_power = power.t.test(n = r$n, delta = r$delta, sd = r$sd, sig.level = a)$power,
    powert_n = power.t.test(delta = r$delta, sd = r$sd, power = r$power, sig.level = a, tol = 1e-12)$n,
    prop_n = power.prop.test(p1 = r$p1, p2 = r$p2, power = r$power, sig.level = a, tol = 1e-12)$n,
    prop_power = power.prop.test(n = r$n, p1 = r$p1, p2 = r$p2, sig.level = a)$power,
    p2_n = pwr.2p.test(h = r$h, power = r$power, sig.level = a)$n,
    p2_n_esh = pwr.2p.test(h = ES.h(r$p1, r$p2), power = r$power, sig.level = a)$n,
    p2n_power = pwr.2p2n.test(h = r$h, n1 = r$n1, n2 = r$n2, sig.level = a)$power,
    # Borm et al. (2007): t-test n (strict two-sided power) times (1 - rho^2)
    ancova_n = power.t.test(delta = r$delta, sd = r$sd, power = r$power, sig.level = a, strict = TRUE,
                            tol = 1e-12)$n * (1 - r$rho^2),
    ancova_power = {
      df <- 2 * r$n - 3; ncp <- r$delta / (r$sd * sqrt(1 - r$rho^2) * sqrt(2 / r$n)); q <- qt(1 - a / 2, df)
      pt(q, df, ncp, lower.tail = FALSE) + pt(-q, df, ncp)
    },
    schoenfeld_events = { p <- r$ratio / (1 + r$ratio); (z(1 - a / 2) + z(r$power))^2 / (p * (1 - p) * log(r$hr)^2) },
    freedman_events = (z(1 - a / 2) + z(r$power))^2 * (1 + r$ratio * r$hr)^2 / (r$ratio * (1 - r$hr)^2),
    event_prob = {
      L <- r$hazard + r$competing
      cif <- function(t) r$hazard / L * (1 - exp(-L * t))
      if (r$accrual == 0) cif(r$follow_up) else
        integrate(cif, r$follow_up, r$accrual + r$follow_up, rel.tol = 1e-12)$value / r$accrual
    },
    count_n = {
      mu0 <- r$rate; mu1 <- r$rate * r$rr; t <- r$exposure; k <- r$k
      (z(1 - a / 2) + z(r$power))^2 * ((1 / (t * mu1) + k) / r$ratio + (1 / (t * mu0) + k)) / log(r$rr)^2
    },
    design_effect = 1 + ((1 + r$cv^2) * r$m - 1) * r$icc,
    holm2_all = {
      P <- function(d, s) pwr.t.test(n = r$n, d = d, sig.level = s)$power
      P(r$d, a) * P(r$d2, a) - (P(r$d, a) - P(r$d, a / 2)) * (P(r$d2, a) - P(r$d2, a / 2))
    },
    lifelines_freedman = {
      m <- (1 / r$ratio) * ((r$ratio * r$hr + 1) / (r$hr - 1))^2 * (z(1 - a / 2) + z(r$power))^2
      ceiling(m / (r$ratio * r$pe + r$pc))
    },
    stop(paste("unknown kind", r$kind)))
}
out <- lapply(seq_len(nrow(cases)), function(i) list(case = cases$case[i], kind = cases$kind[i], value = value(cases[i, ])))
writeLines(toJSON(list(r_version = R.version.string, pwr_version = as.character(packageVersion("pwr")), results = out),
                  digits = NA, auto_unbox = TRUE, pretty = TRUE), file.path(here, "closed_form.json"))
cat("wrote", nrow(cases), "reference values\n")
