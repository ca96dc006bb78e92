# Reference values for analysis/consistency.py (tests/test_consistency.py).
# Run: Rscript tests/reference/consistency.R > tests/reference/consistency.json
library(jsonlite)
out <- list()
# P of printed chi-square / t / F at the ends of their rounding intervals
out$chi2_p <- list(x = c(4.5875, 4.5885, 0.2275, 0.2285),
                   p = pchisq(c(4.5875, 4.5885, 0.2275, 0.2285), df = 1, lower.tail = FALSE))
out$t_p <- list(x = c(2.0995, 2.1005), df = 38, p = 2 * pt(-c(2.0995, 2.1005), df = 38))
out$f_p <- list(x = c(3.145, 3.155), df1 = 2, df2 = 57, p = pf(c(3.145, 3.155), 2, 57, lower.tail = FALSE))
# tests of printed count tables
tab <- function(v, nr) matrix(v, nrow = nr, byrow = TRUE)
neuro <- tab(c(12, 28, 8, 32), 2)
fatigue <- tab(c(28, 12, 26, 14), 2)
immuno <- tab(c(15, 13, 12, 16, 14, 10), 2)
small <- tab(c(12, 4, 1, 4), 2)
out$counts <- list(
  neuro = list(pearson = unname(chisq.test(neuro, correct = FALSE)$statistic),
               pearson_p = chisq.test(neuro, correct = FALSE)$p.value,
               yates = unname(chisq.test(neuro)$statistic), yates_p = chisq.test(neuro)$p.value,
               fisher_p = fisher.test(neuro)$p.value),
  fatigue = list(pearson = unname(chisq.test(fatigue, correct = FALSE)$statistic),
                 pearson_p = chisq.test(fatigue, correct = FALSE)$p.value),
  immuno = list(pearson = unname(suppressWarnings(chisq.test(immuno))$statistic),
                pearson_p = suppressWarnings(chisq.test(immuno))$p.value,
                fisher_p = fisher.test(immuno)$p.value),
  small = list(fisher_p = fisher.test(small)$p.value,
               pearson = unname(suppressWarnings(chisq.test(small, correct = FALSE))$statistic))
)
# the probability of the observed 2x2 table (what a "P" equal to it would be)
out$point <- list(table = c(3, 7, 8, 2), p = dhyper(3, 10, 10, 11), fisher = fisher.test(tab(c(3, 7, 8, 2), 2))$p.value)
# Student and Welch t from summary statistics at the printed values
tsum <- function(m1, s1, n1, m2, s2, n2, welch) {
  if (welch) { se <- sqrt(s1^2 / n1 + s2^2 / n2); df <- se^4 / ((s1^2 / n1)^2 / (n1 - 1) + (s2^2 / n2)^2 / (n2 - 1)) }
  else { sp <- sqrt(((n1 - 1) * s1^2 + (n2 - 1) * s2^2) / (n1 + n2 - 2)); se <- sp * sqrt(1 / n1 + 1 / n2); df <- n1 + n2 - 2 }
  t <- (m1 - m2) / se
  list(t = t, df = df, p = 2 * pt(-abs(t), df))
}
out$tsummary <- list(age_student = tsum(63.9, 11.4, 40, 63.3, 10.9, 40, FALSE),
                     kps_student = tsum(86.65, 14.32, 40, 83.69, 15.10, 40, FALSE),
                     unequal_welch = tsum(10.2, 2.1, 12, 12.9, 6.3, 30, TRUE))
cat(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE))
