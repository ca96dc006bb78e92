# Reference values for the regression tests (tests/stats/test_cox.py, test_logistic.py,
# tests/tables/test_regression.py, test_subgroup.py): Cox models (coxph, cox.zph), stratified
# log-rank (survdiff + strata), subgroup interaction tests (anova of nested coxph fits) and
# logistic regression (glm binomial + confint.default).
# Usage (from the repo root): Rscript tests/reference/models.R tests/reference tests/reference/models.json
# Made with R 4.2.2, survival 3.5-3, jsonlite (Debian packages r-base-core r-cran-survival r-cran-jsonlite).
# The data sets ship with R's survival and datasets packages; this script writes them to CSV
# (veteran.csv, colon_death.csv, ovarian.csv, infert.csv) and fits every model on the CSVs
# read back, so R and the Python tests see the same bytes.
suppressMessages({library(survival); library(jsonlite)})
args <- commandArgs(trailingOnly = TRUE)
dir <- args[1]; out <- args[2]
res <- list(generated_by = paste("R", R.version$major, R.version$minor, "survival", packageVersion("survival")))

write.csv(veteran, file.path(dir, "veteran.csv"), row.names = FALSE)
cd <- subset(colon, etype == 2, select = c(id, rx, sex, age, obstruct, nodes, differ, status, time))
write.csv(cd, file.path(dir, "colon_death.csv"), row.names = FALSE)
write.csv(ovarian, file.path(dir, "ovarian.csv"), row.names = FALSE)
write.csv(infert[, c("education", "age", "parity", "induced", "case", "spontaneous")],
          file.path(dir, "infert.csv"), row.names = FALSE)

lung <- read.csv(file.path(dir, "lung.csv"))
vet <- read.csv(file.path(dir, "veteran.csv"))
vet$celltype <- factor(vet$celltype, levels = c("squamous", "smallcell", "adeno", "large"))
cd <- read.csv(file.path(dir, "colon_death.csv"))
cd$rx <- factor(cd$rx, levels = c("Obs", "Lev", "Lev+5FU"))
ova <- read.csv(file.path(dir, "ovarian.csv"))
inf <- read.csv(file.path(dir, "infert.csv"))
inf$education <- factor(inf$education, levels = c("0-5yrs", "6-11yrs", "12+ yrs"))

test3 <- function(stat, df) list(statistic = unname(stat), df = unname(df),
                                 p = pchisq(unname(stat), unname(df), lower.tail = FALSE))
cox_out <- function(fit) {
  s <- summary(fit)
  list(names = names(coef(fit)), coef = unname(coef(fit)), se = unname(sqrt(diag(vcov(fit)))),
       z = unname(s$coefficients[, "z"]), p = unname(s$coefficients[, "Pr(>|z|)"]),
       hr = unname(s$conf.int[, 1]), lower = unname(s$conf.int[, 3]), upper = unname(s$conf.int[, 4]),
       wald = test3(fit$wald.test, length(coef(fit))), lr = test3(s$logtest["test"], s$logtest["df"]),
       score = test3(fit$score, length(coef(fit))), loglik = unname(fit$loglik), n = fit$n,
       events = fit$nevent, iter = fit$iter, nobs_dropped = length(fit$na.action))
}
zph_out <- function(fit) {
  z <- cox.zph(fit)
  list(terms = rownames(z$table), chisq = unname(z$table[, "chisq"]), df = unname(z$table[, "df"]),
       p = unname(z$table[, "p"]))
}

# 1. Cox models: numeric and factor terms, Efron and Breslow ties, strata, missing rows.
m_lung <- coxph(Surv(time, status) ~ age + factor(sex) + factor(ph.ecog), data = lung)
m_lung_b <- coxph(Surv(time, status) ~ age + factor(sex) + factor(ph.ecog), data = lung, ties = "breslow")
m_vet <- coxph(Surv(time, status) ~ trt + celltype + karno + strata(prior), data = vet)
m_vet_rl <- coxph(Surv(time, status) ~ trt + relevel(celltype, "large") + karno, data = vet)
m_colon <- coxph(Surv(time, status) ~ rx + sex + age + nodes + strata(differ), data = cd)
m_colon_b <- coxph(Surv(time, status) ~ rx + sex + age + nodes + strata(differ), data = cd, ties = "breslow")
m_ova <- coxph(Surv(futime, fustat) ~ age + factor(resid.ds), data = ova)
res$cox <- list(lung = cox_out(m_lung), lung_breslow = cox_out(m_lung_b), veteran = cox_out(m_vet),
                veteran_relevel = cox_out(m_vet_rl), colon = cox_out(m_colon),
                colon_breslow = cox_out(m_colon_b), ovarian = cox_out(m_ova))
# the arm-only stratified Cox of tbl_survival(strata=...)
res$cox$veteran_trt_by_celltype <- cox_out(coxph(Surv(time, status) ~ factor(trt) + strata(celltype), data = vet))
# univariable fits for the regression table of lung
res$cox_uni_lung <- list(
  age = cox_out(coxph(Surv(time, status) ~ age, data = lung)),
  sex = cox_out(coxph(Surv(time, status) ~ factor(sex), data = lung)),
  ph.ecog = cox_out(coxph(Surv(time, status) ~ factor(ph.ecog), data = lung)))

# 2. Proportional-hazards tests (survival >= 3: transform = "km", per term and global).
res$zph <- list(lung = zph_out(m_lung), lung_breslow = zph_out(m_lung_b), veteran = zph_out(m_vet),
                colon = zph_out(m_colon), ovarian = zph_out(m_ova))

# 3. Stratified log-rank.
sd_out <- function(sd) {
  obs <- if (is.matrix(sd$obs)) rowSums(sd$obs) else sd$obs
  ex <- if (is.matrix(sd$exp)) rowSums(sd$exp) else sd$exp
  df <- sum(ex > 0) - 1
  list(groups = sub(".*=", "", names(sd$n)), n = unname(as.vector(sd$n)), observed = unname(obs),
       expected = unname(ex), var = unname(sd$var), chisq = sd$chisq, df = df,
       p = pchisq(sd$chisq, df, lower.tail = FALSE))
}
res$survdiff <- list(
  veteran_trt_by_celltype = sd_out(survdiff(Surv(time, status) ~ trt + strata(celltype), data = vet)),
  colon_rx_by_sex = sd_out(survdiff(Surv(time, status) ~ rx + strata(sex), data = cd)),
  colon_rx = sd_out(survdiff(Surv(time, status) ~ rx, data = cd)))

# 4. Subgroups of colon (Lev+5FU vs Obs): HR per level, n and events per arm, interaction LR test.
cs <- droplevels(subset(cd, rx %in% c("Obs", "Lev+5FU")))
cs$age65 <- ifelse(cs$age >= 65, ">= 65", "< 65")
sub_out <- function(var) {
  d <- cs[!is.na(cs[[var]]), ]
  d$sub <- factor(d[[var]])
  levels_out <- lapply(levels(d$sub), function(lv) {
    dl <- d[d$sub == lv, ]
    f <- coxph(Surv(time, status) ~ rx, data = dl)
    s <- summary(f)
    list(level = lv, hr = unname(s$conf.int[1, 1]), lower = unname(s$conf.int[1, 3]),
         upper = unname(s$conf.int[1, 4]), p = unname(s$coefficients[1, 5]),
         n = as.list(table(dl$rx)), events = as.list(tapply(dl$status, dl$rx, sum)))
  })
  a <- anova(coxph(Surv(time, status) ~ rx + sub, data = d), coxph(Surv(time, status) ~ rx * sub, data = d))
  list(levels = levels_out, interaction = list(chisq = a$Chisq[2], df = a$Df[2], p = a[["Pr(>|Chi|)"]][2]))
}
ov <- summary(coxph(Surv(time, status) ~ rx, data = cs))
res$subgroup <- list(
  overall = list(hr = unname(ov$conf.int[1, 1]), lower = unname(ov$conf.int[1, 3]),
                 upper = unname(ov$conf.int[1, 4]), p = unname(ov$coefficients[1, 5]),
                 n = as.list(table(cs$rx)), events = as.list(tapply(cs$status, cs$rx, sum))),
  sex = sub_out("sex"), age65 = sub_out("age65"), differ = sub_out("differ"))

# 5. Logistic regression: glm(binomial) with Wald CIs from confint.default.
glm_out <- function(fit) {
  s <- summary(fit)
  ci <- confint.default(fit)
  list(names = names(coef(fit)), coef = unname(coef(fit)), se = unname(s$coefficients[, 2]),
       z = unname(s$coefficients[, 3]), p = unname(s$coefficients[, 4]), or = unname(exp(coef(fit))),
       lower = unname(exp(ci[, 1])), upper = unname(exp(ci[, 2])), deviance = fit$deviance,
       null_deviance = fit$null.deviance, df_residual = fit$df.residual, aic = fit$aic, iter = fit$iter,
       n = nobs(fit), nobs_dropped = length(fit$na.action),
       lr = test3(fit$null.deviance - fit$deviance, fit$df.null - fit$df.residual))
}
res$logistic <- list(
  infert = glm_out(glm(case ~ age + parity + education + spontaneous + induced, family = binomial, data = inf)),
  infert_relevel = glm_out(glm(case ~ relevel(education, "12+ yrs") + spontaneous, family = binomial,
                               data = inf)),
  colon = glm_out(glm(status ~ rx + sex + age + nodes + factor(differ), family = binomial, data = cd)),
  infert_uni_spontaneous = glm_out(glm(case ~ spontaneous, family = binomial, data = inf)))

writeLines(toJSON(res, auto_unbox = TRUE, digits = NA, pretty = TRUE, na = "null"), out)
