# Independent R implementation of the published SDQ scoring rules (sdqinfo.org scoring instructions,
# as recorded in /work/shared/reference/README.md section 1), written from the rules, not from the
# Python code. Reads sdq_patterns.csv, writes sdq_reference.json.
#
# Rerun from the project root:
#   .venv/bin/python tests/reference/instruments/sdq_generate.py
#   Rscript tests/reference/instruments/sdq_reference.R
#
# Rules: items coded 0/1/2; any other value (blank, negative missing codes) is missing.
# Reverse-scored items 7, 11, 14, 21, 25 become 2 - x. A subscale needs >= 3 of its 5 items and is
# floor(0.5 + mean(answered) * 5). Total = emotional + conduct + hyperactivity + peer (NA if any NA).
# Externalising = conduct + hyperactivity; internalising = emotional + peer.
# Impact: the sum of the impact items recoded 0,1 -> 0; 2 -> 1; 3 -> 2 (NA if any impact item is
# missing), then set to 0 when the overall-difficulties answer is "no" (0), as in sdqinfo's scoring
# syntax (sum, then replace by 0 if the answer is "no"); a missing overall answer changes nothing.
# Bands (UK four-band): parent and teacher tables below; self-report has none.
library(jsonlite)

here <- if (dir.exists("tests/reference/instruments")) "tests/reference/instruments" else "."
d <- read.csv(file.path(here, "sdq_patterns.csv"), stringsAsFactors = FALSE,
              colClasses = "character")

as_item <- function(v, allowed) {
  x <- suppressWarnings(as.numeric(v))
  x[!(x %in% allowed)] <- NA
  x
}

subscales <- list(
  emotional = c(3, 8, 13, 16, 24),
  conduct = c(5, 7, 12, 18, 22),
  hyperactivity = c(2, 10, 15, 21, 25),
  peer = c(6, 11, 14, 19, 23),
  prosocial = c(1, 4, 9, 17, 20)
)
reversed <- c(7, 11, 14, 21, 25)

prorate <- function(m) {
  n_ok <- rowSums(!is.na(m))
  s <- floor(0.5 + rowMeans(m, na.rm = TRUE) * 5)
  s[n_ok < 3] <- NA
  s
}

band_tables <- list(
  sdq_parent = list(
    total = c(13, 16, 19), emotional = c(3, 4, 6), conduct = c(2, 3, 5),
    hyperactivity = c(5, 7, 8), peer = c(2, 3, 4)),
  sdq_teacher = list(
    total = c(11, 15, 18), emotional = c(3, 4, 5), conduct = c(2, 3, 4),
    hyperactivity = c(5, 7, 8), peer = c(2, 4, 5))
)
# Prosocial is banded downwards: close to average >= a, slightly lowered = b.., low, very low.
prosocial_lower <- list(sdq_parent = c(8, 7, 6), sdq_teacher = c(6, 5, 4))
up_labels <- c("close to average", "slightly raised", "high", "very high")
down_labels <- c("close to average", "slightly lowered", "low", "very low")

band_up <- function(x, cuts) {
  out <- rep(NA_character_, length(x))
  ok <- !is.na(x)
  out[ok] <- up_labels[findInterval(x[ok], cuts + 1) + 1]
  out
}
band_down <- function(x, lows) {
  out <- rep(NA_character_, length(x))
  ok <- !is.na(x)
  idx <- ifelse(x[ok] >= lows[1], 1, ifelse(x[ok] >= lows[2], 2, ifelse(x[ok] >= lows[3], 3, 4)))
  out[ok] <- down_labels[idx]
  out
}

results <- list()
for (form in unique(d$form)) {
  f <- d[d$form == form, ]
  items <- sapply(1:25, function(i) as_item(f[[paste0("item_", i)]], 0:2))
  if (is.null(dim(items))) items <- matrix(items, nrow = 1)
  items[, reversed] <- 2 - items[, reversed]
  sc <- lapply(subscales, function(idx) prorate(items[, idx, drop = FALSE]))
  total <- sc$emotional + sc$conduct + sc$hyperactivity + sc$peer
  ext <- sc$conduct + sc$hyperactivity
  int <- sc$emotional + sc$peer
  imp_cols <- if (form == "sdq_teacher") c("distress", "impact_peers", "impact_classroom") else
    c("distress", "impact_home", "impact_friends", "impact_classroom", "impact_leisure")
  imp <- sapply(imp_cols, function(c) as_item(f[[c]], 0:3))
  if (is.null(dim(imp))) imp <- matrix(imp, nrow = 1)
  imp_scored <- ifelse(imp <= 1, 0, imp - 1)
  overall <- as_item(f$overall, 0:3)
  impact <- rowSums(imp_scored)          # NA when any impact item is missing
  impact[!is.na(overall) & overall == 0] <- 0
  bt <- band_tables[[form]]
  for (r in seq_len(nrow(f))) {
    rec <- list(form = form, id = f$id[r],
                emotional = sc$emotional[r], conduct = sc$conduct[r],
                hyperactivity = sc$hyperactivity[r], peer = sc$peer[r], prosocial = sc$prosocial[r],
                total = total[r], externalising = ext[r], internalising = int[r], impact = impact[r])
    if (!is.null(bt)) {
      rec$band_total <- band_up(total[r], bt$total)
      for (s in c("emotional", "conduct", "hyperactivity", "peer")) {
        rec[[paste0("band_", s)]] <- band_up(sc[[s]][r], bt[[s]])
      }
      rec$band_prosocial <- band_down(sc$prosocial[r], prosocial_lower[[form]])
    }
    results[[length(results) + 1]] <- rec
  }
}
writeLines(toJSON(results, auto_unbox = TRUE, na = "null", digits = NA, pretty = FALSE),
           file.path(here, "sdq_reference.json"))
cat("wrote", length(results), "SDQ reference records\n")
