# Reference for multiplicity: stats::p.adjust (holm, hochberg) on pvalues.csv.
# Rerun: Rscript tests/reference/effectiveness/padjust.R  (writes padjust.json)
source(file.path(dirname(sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))), "_common.R"))
dir <- here(); p <- read.csv(file.path(dir, "pvalues.csv"))$p
write_ref(list(p = p, holm = p.adjust(p, "holm"), hochberg = p.adjust(p, "hochberg"),
               bonferroni = p.adjust(p, "bonferroni")), dir, "padjust")
