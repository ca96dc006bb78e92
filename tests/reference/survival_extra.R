# Extra survival reference values for tests/stats/test_survival.py (beyond r_reference.json).
# Usage (from the repo root): Rscript tests/reference/survival_extra.R tests/reference tests/reference/survival_extra.json
# Made with R 4.2.2, survival 3.5-3, jsonlite (Debian packages r-base-core r-cran-survival r-cran-jsonlite).
suppressMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; out <- args[2]
na <- function(x) { x <- unname(x); x[!is.finite(x)] <- NA; x }
res <- list(generated_by = paste("R", R.version$major, R.version$minor, "survival", packageVersion("survival")))

km_table <- function(time, status, conf.type) {
  f <- survfit(Surv(time, status) ~ 1, conf.type = conf.type)
  list(time = f$time, n_risk = f$n.risk, n_event = f$n.event, n_censor = f$n.censor, surv = f$surv,
       std_err = na(f$std.err), lower = na(f$lower), upper = na(f$upper),
       median = na(summary(f)$table[c("median", "0.95LCL", "0.95UCL")]))
}

leuk <- read.csv(file.path(dir, "leukemia.csv"))
lung <- read.csv(file.path(dir, "lung.csv"))

# 1. Full Kaplan-Meier tables (every distinct time) for each leukemia arm, three CI types.
for (g in c("0", "1")) {
  d <- leuk[leuk$Rx == as.numeric(g), ]
  for (ct in c("log", "log-log", "plain")) res$km$leukemia[[g]][[ct]] <- km_table(d$t, d$status, ct)
}

# 2. Landmarks: summary(survfit, times=, extend=TRUE), before the first time, between times, on times, past the end.
lm_times <- c(0, 1, 5.5, 10, 22, 23, 30, 40)
for (g in c("0", "1")) {
  d <- leuk[leuk$Rx == as.numeric(g), ]
  for (ct in c("log", "log-log")) {
    s <- summary(survfit(Surv(t, status) ~ 1, data = d, conf.type = ct), times = lm_times, extend = TRUE)
    res$landmarks$leukemia[[g]][[ct]] <- list(time = s$time, n_risk = s$n.risk, surv = s$surv,
                                             lower = na(s$lower), upper = na(s$upper))
  }
}

# 3. Cox model details for the two-arm data sets (coef, se, likelihood-ratio P).
cox2 <- function(fm, data) {
  cx <- coxph(fm, data = data, ties = "efron"); s <- summary(cx)
  list(coef = unname(coef(cx)), se = unname(sqrt(diag(vcov(cx)))), lr_p = unname(s$logtest["pvalue"]),
       lr_chisq = unname(s$logtest["test"]), wald_chisq = unname(cx$wald.test),
       score_chisq = unname(s$sctest["test"]), loglik = cx$loglik, iter = cx$iter)
}
res$cox$lung <- cox2(Surv(time, status) ~ factor(sex), lung)
res$cox$leukemia <- cox2(Surv(t, status) ~ factor(Rx), leuk)
res$cox$leukemia_breslow_check <- unname(coef(coxph(Surv(t, status) ~ factor(Rx), data = leuk, ties = "breslow")))

# 4. Three arms: lung by ECOG performance status 0, 1, 2 (NA and the single ECOG 3 patient dropped).
l3 <- lung[!is.na(lung$ph.ecog) & lung$ph.ecog %in% c(0, 1, 2), ]
l3$ecog <- factor(l3$ph.ecog, levels = c(0, 1, 2), labels = c("0", "1", "2"))
sd3 <- survdiff(Surv(time, status) ~ ecog, data = l3)
cx3 <- coxph(Surv(time, status) ~ ecog, data = l3); s3 <- summary(cx3)
tab3 <- summary(survfit(Surv(time, status) ~ ecog, data = l3))$table
res$three_arms <- list(
  data = "lung.csv rows with ph.ecog in 0, 1, 2; group = ph.ecog", n = as.numeric(sd3$n),
  observed = as.numeric(sd3$obs), expected = as.numeric(sd3$exp), var = unname(sd3$var),
  chisq = unname(sd3$chisq), df = length(sd3$n) - 1L,
  p = pchisq(sd3$chisq, length(sd3$n) - 1, lower.tail = FALSE),
  levels = c("1", "2"), coef = unname(coef(cx3)), se = unname(sqrt(diag(vcov(cx3)))),
  hr = unname(s3$conf.int[, 1]), hr_lower = unname(s3$conf.int[, 3]), hr_upper = unname(s3$conf.int[, 4]),
  term_p = unname(s3$coefficients[, 5]), wald_chisq = unname(cx3$wald.test),
  wald_p = unname(s3$waldtest["pvalue"]), score_chisq = unname(s3$sctest["test"]),
  score_p = unname(s3$sctest["pvalue"]), lr_chisq = unname(s3$logtest["test"]), lr_p = unname(s3$logtest["pvalue"]),
  median = na(tab3[, "median"]), median_lower = na(tab3[, "0.95LCL"]), median_upper = na(tab3[, "0.95UCL"]))

# 5. An arm with zero events (all censored) against an arm with events.
ze <- data.frame(time = c(5, 8, 12, 15, 20, 25, 3, 4, 6, 7, 9, 10, 14),
                 status = c(0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 1, 1),
                 arm = c(rep("A", 6), rep("B", 7)))
sdz <- survdiff(Surv(time, status) ~ arm, data = ze)
w <- NULL
cxz <- withCallingHandlers(coxph(Surv(time, status) ~ arm, data = ze),
                           warning = function(m) { w <<- conditionMessage(m); invokeRestart("muffleWarning") })
tabz <- summary(survfit(Surv(time, status) ~ arm, data = ze))$table
res$zero_events <- list(time = ze$time, status = ze$status, arm = ze$arm, chisq = unname(sdz$chisq),
  p = pchisq(sdz$chisq, 1, lower.tail = FALSE), observed = as.numeric(sdz$obs), expected = as.numeric(sdz$exp),
  cox_warning = w, cox_coef = unname(coef(cxz)),
  median = na(tabz[, "median"]), median_lower = na(tabz[, "0.95LCL"]), median_upper = na(tabz[, "0.95UCL"]))

# 6. One-patient arm; and a curve that sits exactly at 0.5 over an interval (median = midpoint).
one <- km_table(c(7), c(1), "log")
res$one_patient <- list(time = 7, status = 1, km = one)
res$midpoint <- list(time = c(1, 2, 3, 4), status = c(1, 1, 1, 1), km = km_table(c(1, 2, 3, 4), c(1, 1, 1, 1), "log"))
res$midpoint_censored <- list(time = c(1, 3, 3, 3, 5, 6), status = c(1, 1, 1, 0, 1, 0),
  km = km_table(c(1, 3, 3, 3, 5, 6), c(1, 1, 1, 0, 1, 0), "log"))

# 7. Median follow-up by the reverse Kaplan-Meier method (censoring as the event).
rev_km <- function(time, status) {
  f <- survfit(Surv(time, 1 - status) ~ 1)
  na(summary(f)$table[c("median", "0.95LCL", "0.95UCL")])
}
res$follow_up <- list(lung = rev_km(lung$time, lung$status), leukemia = rev_km(leuk$t, leuk$status))

writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, na = "null", null = "null", pretty = TRUE), out)
