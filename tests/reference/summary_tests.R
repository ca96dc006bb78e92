# Reference values for summary tables and group comparisons (tests/stats/test_nonparametric.py,
# test_ttest.py, test_descriptive.py, test_contingency.py, test_meta.py).
# Usage (from the repository root): Rscript tests/reference/summary_tests.R tests/reference/summary_tests.json
# Needs R with metafor and jsonlite (Debian: r-base-core r-cran-metafor r-cran-jsonlite).
# The samples are drawn here once and stored in the JSON, so Python tests read the same numbers.
suppressMessages({library(metafor); library(jsonlite)})
out <- commandArgs(trailingOnly = TRUE)[1]
res <- list(generated_by = paste("R", R.version$major, R.version$minor, "metafor", packageVersion("metafor")))
set.seed(20240101)

# -- Wilcoxon rank-sum (wilcox.test defaults: exact if both n < 50 and no ties; else normal
#    approximation with continuity correction and tie correction)
wil <- function(name, x, y) {
  w <- suppressWarnings(wilcox.test(x, y))
  res$wilcoxon[[name]] <<- list(call = "wilcox.test(x, y)", x = x, y = y,
    statistic = unname(w$statistic), p = w$p.value, method = w$method,
    exact = (length(x) < 50 && length(y) < 50 && !any(duplicated(c(x, y)))))
}
wil("small_no_ties", round(rnorm(9, 50, 10), 3), round(rnorm(11, 58, 10), 3))
wil("small_unequal", round(rnorm(3, 0, 1), 4), round(rnorm(17, 1, 1), 4))
wil("with_ties", round(rnorm(14, 5, 2)), round(rnorm(16, 6, 2)))
wil("large_no_ties", round(rnorm(60, 0, 1), 5), round(rnorm(55, 0.4, 1), 5))
wil("one_group_50", round(rnorm(50, 0, 1), 5), round(rnorm(12, 0.3, 1), 5))
wil("separated", c(1.5, 2.25, 3.125), c(10.5, 11.25, 12.125, 13.0625))

# -- Kruskal-Wallis and one-way ANOVA (three and four groups)
grp <- function(name, values, groups) {
  k <- kruskal.test(values, factor(groups))
  a <- oneway.test(values ~ factor(groups), var.equal = TRUE)
  fit <- anova(lm(values ~ factor(groups)))
  res$groups[[name]] <<- list(values = values, groups = groups,
    kruskal = list(call = "kruskal.test(values, factor(groups))", statistic = unname(k$statistic),
                   df = unname(k$parameter), p = k$p.value),
    anova = list(call = "oneway.test(values ~ factor(groups), var.equal = TRUE)", statistic = unname(a$statistic),
                 df1 = unname(a$parameter[1]), df2 = unname(a$parameter[2]), p = a$p.value,
                 lm_f = fit$`F value`[1], lm_p = fit$`Pr(>F)`[1]))
}
g3 <- rep(c("a", "b", "c"), c(12, 15, 10))
grp("three_groups", round(c(rnorm(12, 60, 8), rnorm(15, 64, 8), rnorm(10, 57, 8)), 1), g3)
g4 <- rep(c("I", "II", "III", "IV"), c(6, 9, 7, 8))
grp("four_groups_ties", round(c(rnorm(6, 3, 1), rnorm(9, 3.5, 1), rnorm(7, 4, 1), rnorm(8, 3.2, 1))), g4)

# -- t-tests
x <- round(rnorm(23, 63.9, 11.4), 1); y <- round(rnorm(31, 60.1, 6.2), 1)
st <- t.test(x, y, var.equal = TRUE); we <- t.test(x, y)
before <- round(rnorm(20, 5, 1.5), 1); after <- round(before - rnorm(20, 1, 1), 1)
pa <- t.test(after, before, paired = TRUE)
res$ttest <- list(x = x, y = y, before = before, after = after,
  student = list(call = "t.test(x, y, var.equal = TRUE)", statistic = unname(st$statistic),
                 df = unname(st$parameter), p = st$p.value),
  welch = list(call = "t.test(x, y)", statistic = unname(we$statistic), df = unname(we$parameter), p = we$p.value),
  paired = list(call = "t.test(after, before, paired = TRUE)", statistic = unname(pa$statistic),
                df = unname(pa$parameter), p = pa$p.value))

# -- quantiles (type 7, R's default) and summaries
q <- round(rexp(25, 1 / 20), 2)
res$quantiles <- list(call = "quantile(x, c(0.25, 0.5, 0.75), type = 7); min; max", x = q,
  q = unname(quantile(q, c(0.25, 0.5, 0.75), type = 7)), min = min(q), max = max(q),
  mean = mean(q), sd = sd(q), even = list(x = c(1, 2, 3, 4), q = unname(quantile(c(1, 2, 3, 4), c(0.25, 0.5, 0.75)))))

# -- Fisher's exact test: 2x2 (compared with scipy too), and a 4x4 table with n = 200
f2 <- list(c(13, 27, 5, 35), c(12, 4, 1, 4), c(0, 10, 6, 4), c(200, 80, 170, 110), c(7, 7, 7, 7),
           c(3, 9, 9, 3), c(1, 40, 6, 33), c(25, 0, 0, 25))
res$fisher_2x2 <- lapply(f2, function(v) { m <- matrix(v, 2, byrow = TRUE)
  list(counts = list(v[1:2], v[3:4]), p = fisher.test(m)$p.value) })
m44 <- matrix(c(16, 10, 14, 10, 12, 13, 11, 14, 9, 15, 12, 14, 13, 12, 13, 12), 4, byrow = TRUE)
t44 <- system.time(p44 <- fisher.test(m44, workspace = 2e8)$p.value)[["elapsed"]]
set.seed(1)
sim <- fisher.test(m44, simulate.p.value = TRUE, B = 1e5)$p.value
res$fisher_4x4 <- list(call = "fisher.test(m, workspace = 2e8); fisher.test(m, simulate.p.value = TRUE, B = 1e5)",
  counts = lapply(1:4, function(i) m44[i, ]), n = sum(m44), p_exact = p44, r_seconds = t44, p_simulated_B1e5 = sim,
  pearson_p = suppressWarnings(chisq.test(m44, correct = FALSE)$p.value))

# -- Mantel-Haenszel with a study that has no events in either arm
mh <- function(ev_t, n_t, ev_c, n_c) {
  m <- suppressWarnings(rma.mh(ai = ev_t, n1i = n_t, ci = ev_c, n2i = n_c, measure = "OR"))
  list(call = sprintf("rma.mh(ai=c(%s), n1i=c(%s), ci=c(%s), n2i=c(%s), measure='OR')",
                      toString(ev_t), toString(n_t), toString(ev_c), toString(n_c)),
       events_t = ev_t, n_t = n_t, events_c = ev_c, n_c = n_c,
       pooled = exp(m$beta[1]), lower = exp(m$ci.lb), upper = exp(m$ci.ub), se_log = m$se, p = m$pval,
       Q = m$QE, Q_p = m$QEp, Q_df = m$k.yi - 1, I2_pct = m$I2, k = m$k, k_yi = m$k.yi,
       weights_pct = unname(weights(m)))
}
res$meta_mh_zero <- list(
  with_double_zero = mh(c(3, 0, 5, 2), c(50, 40, 60, 30), c(8, 0, 9, 6), c(50, 40, 60, 30)),
  without = mh(c(3, 5, 2), c(50, 60, 30), c(8, 9, 6), c(50, 60, 30)))

# -- Fisher's exact test on a 3x2 table with n = 7,604 (one sparse row: the rule picks Fisher)
m32 <- matrix(c(3000, 2000, 1500, 1100, 2, 2), 3, byrow = TRUE)
res$fisher_3x2_n7604 <- list(call = "fisher.test(m, workspace = 2e8)", counts = lapply(1:3, function(i) m32[i, ]),
  p = fisher.test(m32, workspace = 2e8)$p.value)

writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), out)
