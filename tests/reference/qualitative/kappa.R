# Reference values for coder agreement: psych::cohen.kappa on the synthetic set.
# Rerun from the repository root:
#   .venv/bin/python tests/reference/qualitative/make_kappa_data.py
#   Rscript tests/reference/qualitative/kappa.R
# Reads kappa_texts.csv and kappa_segments.csv; for each code and pair of coders, expands the segments
# into 0/1 ratings at character level (every character of the transcripts both coders coded) and at
# segment-unit level (each paragraph, rated 1 when a segment of the code overlaps it), and writes
# kappa, percentage agreement (100 * sum(diag(agree))), var.kappa and the 95% confidence bounds.
suppressPackageStartupMessages({library(psych); library(jsonlite)})
args <- commandArgs(trailingOnly = FALSE)
here <- dirname(normalizePath(sub("^--file=", "", args[grep("^--file=", args)])))
texts <- read.csv(file.path(here, "kappa_texts.csv"), stringsAsFactors = FALSE)
segs <- read.csv(file.path(here, "kappa_segments.csv"), stringsAsFactors = FALSE)

ratings <- function(tr, code, coder, unit) {
  len <- texts$length[texts$transcript == tr]
  s <- segs[segs$transcript == tr & segs$code == code & segs$coder == coder, ]
  chars <- integer(len)
  for (i in seq_len(nrow(s))) chars[(s$start[i] + 1):s$end[i]] <- 1L   # [start, end) 0-based
  if (unit == "character") return(chars)
  u <- strsplit(strsplit(texts$units[texts$transcript == tr], ";")[[1]], ":")
  vapply(u, function(se) {
    a <- as.integer(se[1]); b <- as.integer(se[2])
    as.integer(any(s$start < b & s$end > a))
  }, integer(1))
}

out <- list()
coders <- sort(unique(segs$coder))
for (unit in c("character", "segment")) {
  for (pair in combn(coders, 2, simplify = FALSE)) {
    shared <- intersect(unique(segs$transcript[segs$coder == pair[1]]), unique(segs$transcript[segs$coder == pair[2]]))
    shared <- sort(shared)
    for (code in sort(unique(segs$code))) {
      a <- unlist(lapply(shared, ratings, code = code, coder = pair[1], unit = unit))
      b <- unlist(lapply(shared, ratings, code = code, coder = pair[2], unit = unit))
      ck <- suppressWarnings(cohen.kappa(cbind(a, b)))
      out[[length(out) + 1]] <- list(unit = unit, code = code, coder_a = pair[1], coder_b = pair[2],
        n_units = length(a), kappa = ck$kappa, percent_agreement = 100 * sum(diag(ck$agree)),
        var_kappa = ck$var.kappa, ci_lower = ck$confid[1, 1], ci_upper = ck$confid[1, 3])
    }
  }
}
res <- list(generated_by = "psych::cohen.kappa", psych_version = as.character(packageVersion("psych")),
            results = out)
writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE), file.path(here, "kappa.json"))
