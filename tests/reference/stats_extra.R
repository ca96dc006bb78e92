# Extra reference values for tests/stats (contingency, meta) that ../r_reference.json lacks.
# Usage (from the repository root): Rscript tests/reference/stats_extra.R tests/reference/stats_extra.json
# Needs R with metafor and jsonlite (Debian: r-base-core r-cran-metafor r-cran-jsonlite).
# R's `meta` package is not packaged for Debian 12, so Mantel-Haenszel values come from
# metafor::rma.mh, which implements the same estimator (Robins-Breslow-Greenland variance) and the
# same Cochran's Q (inverse-variance weights around the MH estimate, as meta's Q.Cochrane = TRUE).
suppressMessages({library(metafor); library(jsonlite)})
out <- commandArgs(trailingOnly = TRUE)[1]
res <- list(generated_by = paste("R", R.version$major, R.version$minor, "metafor", packageVersion("metafor")))

# Fisher's exact and Pearson chi-square on larger r x c tables (rows as given)
tab <- function(name, rows) {
  m <- matrix(unlist(rows), nrow = length(rows), byrow = TRUE)
  pe <- suppressWarnings(chisq.test(m, correct = FALSE))
  res$contingency[[name]] <<- list(counts = rows, pearson_chisq = unname(pe$statistic),
    pearson_df = unname(pe$parameter), pearson_p = pe$p.value, min_expected = min(pe$expected),
    fisher_p = fisher.test(m, workspace = 2e8)$p.value)
}
tab("ecog_3x2_n80", list(c(30, 10), c(25, 15), c(5, 15)))
tab("response_2x2_n560", list(c(200, 80), c(170, 110)))
tab("stage_4x3_n100", list(c(10, 8, 7), c(9, 9, 8), c(6, 10, 9), c(8, 7, 9)))
tab("sparse_4x3", list(c(3, 0, 1), c(1, 2, 0), c(0, 4, 1), c(2, 1, 5)))
tab("wide_2x6", list(c(1, 2, 3, 4, 5, 6), c(6, 5, 4, 3, 2, 1)))
# a table with an all-zero column: Fisher is computed on the non-empty columns
m0 <- matrix(c(3, 0, 5, 4, 0, 9), nrow = 2, byrow = TRUE)
res$contingency$zero_column <- list(counts = list(c(3, 0, 5), c(4, 0, 9)),
  fisher_p = fisher.test(m0)$p.value,
  dropped = list(pearson_chisq = unname(chisq.test(m0[, -2], correct = FALSE)$statistic),
                 pearson_p = chisq.test(m0[, -2], correct = FALSE)$p.value))

# Mantel-Haenszel odds ratio for 2x2 data, plus DL random effects on the same studies
mh <- function(name, ev_t, n_t, ev_c, n_c) {
  m <- rma.mh(ai = ev_t, n1i = n_t, ci = ev_c, n2i = n_c, measure = "OR")
  es <- escalc(measure = "OR", ai = ev_t, n1i = n_t, ci = ev_c, n2i = n_c)
  dl <- rma(yi = es$yi, vi = es$vi, method = "DL")
  res$meta_mh[[name]] <<- list(
    call = sprintf("rma.mh(ai=c(%s), n1i=c(%s), ci=c(%s), n2i=c(%s), measure='OR')",
                   toString(ev_t), toString(n_t), toString(ev_c), toString(n_c)),
    events_t = ev_t, n_t = n_t, events_c = ev_c, n_c = n_c,
    study_or = exp(es$yi), study_lower = exp(es$yi - qnorm(0.975) * sqrt(es$vi)),
    study_upper = exp(es$yi + qnorm(0.975) * sqrt(es$vi)),
    fixed = list(pooled = exp(m$beta[1]), lower = exp(m$ci.lb), upper = exp(m$ci.ub), se_log = m$se,
                 z = m$zval, p = m$pval, weights_pct = unname(weights(m))),
    Q = m$QE, Q_p = m$QEp, I2_pct = m$I2,
    random_dl = list(pooled = exp(dl$b[1]), lower = exp(dl$ci.lb), upper = exp(dl$ci.ub), p = dl$pval,
                     weights_pct = unname(weights(dl)), tau2 = dl$tau2, Q_iv = dl$QE))
}
mh("castor_pollux_orr", c(199, 261), c(240, 281), c(148, 211), c(234, 276))
mh("castor_pollux_vgpr", c(142, 222), c(240, 281), c(68, 132), c(234, 276))
mh("castor_pollux_mrd", c(17, 63), c(240, 281), c(4, 22), c(234, 276))
mh("three_heterogeneous", c(10, 30, 5), c(50, 60, 40), c(20, 15, 6), c(50, 60, 40))

writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), out)
