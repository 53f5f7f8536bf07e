# Reference values for analysis/ (engineer A): effect sizes, rma.uni, bias, influence, subgroups.
# Run from the repository root:  Rscript tests/reference/univariate.R
# Writes tests/reference/univariate.json and the datasets as CSV in tests/reference/data/.
# R 4.2, metafor 3.8-1, metadat, jsonlite. Iterative fits use a tightened control (threshold 1e-12,
# root tolerance 1e-13) so the JSON holds the estimator's value, not metafor's default 1e-5 stopping
# point; the default-control REML tau^2 is stored too, to show how far metafor's defaults sit from it.
suppressPackageStartupMessages({ library(metafor); library(jsonlite) })
out_dir <- "tests/reference"
dir.create(file.path(out_dir, "data"), showWarnings = FALSE, recursive = TRUE)

ctrl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000)
methods <- c("FE", "DL", "REML", "ML", "PM", "HE", "SJ", "EB", "HS")

fitinfo <- function(res) {
  out <- list(method = res$method, test = res$test, k = res$k, p = res$p,
              coef_names = rownames(res$beta), beta = c(res$beta), se = res$se, zval = res$zval,
              pval = res$pval, ci_lb = res$ci.lb, ci_ub = res$ci.ub, tau2 = res$tau2,
              tau2_se = if (is.na(res$se.tau2)) NULL else res$se.tau2, I2 = res$I2, H2 = res$H2,
              QE = res$QE, QEp = res$QEp, QM = res$QM, QMp = res$QMp,
              R2 = if (is.null(res$R2)) NULL else res$R2,
              df = if (is.na(res$ddf)) NULL else res$ddf, weights = unname(weights(res)))
  if (res$int.only) {
    pr <- predict(res)
    out$pi_lb <- pr$pi.lb; out$pi_ub <- pr$pi.ub
  }
  if (!is.element(res$method, "FE")) {
    ci <- confint(res, control = list(tol = 1e-13))
    out$confint <- list(tau2 = unname(ci$random["tau^2", ]), I2 = unname(ci$random["I^2(%)", ]),
                        H2 = unname(ci$random["H^2", ]))
  }
  out
}

# ---- dat.bcg: log risk ratios --------------------------------------------------------------------
bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
write.csv(data.frame(dat.bcg, yi = c(bcg$yi), vi = bcg$vi), file.path(out_dir, "data/dat_bcg.csv"),
          row.names = FALSE)
ref <- list()
ref$bcg_rr <- list(yi = c(bcg$yi), vi = bcg$vi)
or <- escalc(measure = "OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
rd <- escalc(measure = "RD", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
ref$bcg_or <- list(yi = c(or$yi), vi = or$vi)
ref$bcg_rd <- list(yi = c(rd$yi), vi = rd$vi)

ref$bcg_fits <- list()
for (m in methods) for (tst in c("z", "knha")) {
  res <- suppressWarnings(rma(yi, vi, data = bcg, method = m, test = tst, control = ctrl))
  ref$bcg_fits[[paste(m, tst, sep = "_")]] <- fitinfo(res)
}
ref$bcg_reml_default_tau2 <- rma(yi, vi, data = bcg)$tau2
ref$bcg_pm_default_tau2 <- rma(yi, vi, data = bcg, method = "PM")$tau2

ref$bcg_mods <- list()
for (m in methods) for (tst in c("z", "knha")) {
  res <- suppressWarnings(rma(yi, vi, mods = ~ ablat + year, data = bcg, method = m, test = tst,
                              control = ctrl))
  ref$bcg_mods[[paste(m, tst, sep = "_")]] <- fitinfo(res)
}
ref$bcg_alloc <- list()
for (m in c("FE", "REML", "DL")) for (tst in c("z", "knha")) {
  res <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, method = m, test = tst, control = ctrl)
  ref$bcg_alloc[[paste(m, tst, sep = "_")]] <- fitinfo(res)
}
ref$bcg_level90 <- fitinfo(rma(yi, vi, data = bcg, level = 90, control = ctrl))

# bias
res <- rma(yi, vi, data = bcg, control = ctrl)
eg <- regtest(res)
eg_lm <- regtest(res, model = "lm")
rk <- ranktest(res)
tf_l0 <- trimfill(res, control = ctrl)
tf_r0 <- trimfill(res, estimator = "R0", control = ctrl)
tf_left <- trimfill(res, side = "left", control = ctrl)
tf_right <- trimfill(res, side = "right", control = ctrl)
tfinfo <- function(tf) list(k0 = tf$k0, side = tf$side, estimate = c(tf$beta), se = tf$se,
                            tau2 = tf$tau2, k = tf$k, se_k0 = tf$se.k0)
fsn_info <- function(d) list(rosenthal = fsn(yi, vi, data = d)$fsnum,
                             orwin = fsn(yi, vi, data = d, type = "Orwin")$fsnum,
                             rosenberg = fsn(yi, vi, data = d, type = "Rosenberg")$fsnum,
                             rosenthal_p = fsn(yi, vi, data = d)$pval,
                             rosenberg_p = fsn(yi, vi, data = d, type = "Rosenberg")$pval)
pet <- summary(lm(yi ~ sqrt(vi), weights = 1 / vi, data = bcg))$coefficients
peese <- summary(lm(yi ~ vi, weights = 1 / vi, data = bcg))$coefficients
ref$bcg_bias <- list(
  egger = list(z = eg$zval, p = eg$pval, est = c(eg$est), ci_lb = eg$ci.lb, ci_ub = eg$ci.ub),
  egger_lm = list(t = eg_lm$zval, p = eg_lm$pval, df = eg_lm$dfs),
  egger_fe = list(z = regtest(rma(yi, vi, data = bcg, method = "FE"))$zval),
  ranktest = list(tau = unname(rk$tau), p = rk$pval),
  trimfill_L0 = tfinfo(tf_l0), trimfill_R0 = tfinfo(tf_r0),
  trimfill_left = tfinfo(tf_left), trimfill_right = tfinfo(tf_right),
  fsn = fsn_info(bcg),
  pet = list(estimate = unname(pet[, 1]), se = unname(pet[, 2]), t = unname(pet[, 3]), p = unname(pet[, 4])),
  peese = list(estimate = unname(peese[, 1]), se = unname(peese[, 2]), t = unname(peese[, 3]),
               p = unname(peese[, 4])))

# influence
l1 <- leave1out(res)
ref$bcg_leave1out <- list(estimate = l1$estimate, se = l1$se, zval = l1$zval, pval = l1$pval,
                          ci_lb = l1$ci.lb, ci_ub = l1$ci.ub, Q = l1$Q, Qp = l1$Qp, tau2 = l1$tau2,
                          I2 = l1$I2, H2 = l1$H2)
infinfo <- function(fit) { inf <- influence(fit); list(rstudent = inf$inf$rstudent, dffits = inf$inf$dffits, cook_d = inf$inf$cook.d,
                              cov_r = inf$inf$cov.r, tau2_del = inf$inf$tau2.del, QE_del = inf$inf$QE.del,
                              hat = inf$inf$hat, weight = inf$inf$weight,
                              dfbetas = unname(as.matrix(dfbetas(fit))), is_infl = unname(inf$is.infl)) }
ref$bcg_influence <- infinfo(res)
ref$bcg_influence_knha <- infinfo(rma(yi, vi, data = bcg, test = "knha", control = ctrl))
ref$bcg_influence_mods <- infinfo(rma(yi, vi, mods = ~ ablat, data = bcg, control = ctrl))
l1_fe <- leave1out(rma(yi, vi, data = bcg, method = "FE"))
ref$bcg_leave1out_fe <- list(estimate = l1_fe$estimate, se = l1_fe$se, I2 = l1_fe$I2)

# subgroups by allocation: separate REML fits, FE meta-analysis of their estimates (Q between),
# and the mixed-effects moderator test with a common tau^2.
sg <- list()
for (lv in sort(unique(bcg$alloc))) {
  r <- rma(yi, vi, data = bcg, subset = alloc == lv, control = ctrl)
  sg[[lv]] <- list(k = r$k, estimate = c(r$beta), se = r$se, tau2 = r$tau2, I2 = r$I2, QE = r$QE)
}
est <- sapply(sg, function(s) s$estimate); ses <- sapply(sg, function(s) s$se)
qb <- rma(est, sei = ses, method = "FE")
me <- rma(yi, vi, mods = ~ factor(alloc), data = bcg, control = ctrl)
ref$bcg_subgroup <- list(levels = names(sg), groups = unname(sg), Q_between = qb$QE, Q_between_p = qb$QEp,
                         Q_between_df = qb$k - 1, QM = me$QM, QMp = me$QMp)

# ---- dat.normand1999: SMD from means/SDs ----------------------------------------------------------
nd <- escalc(measure = "SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = dat.normand1999)
md <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = dat.normand1999)
write.csv(dat.normand1999, file.path(out_dir, "data/dat_normand1999.csv"), row.names = FALSE)
ref$normand_smd <- list(yi = c(nd$yi), vi = nd$vi)
ref$normand_md <- list(yi = c(md$yi), vi = md$vi)
ref$normand_fits <- list()
for (m in methods) for (tst in c("z", "knha")) {
  res <- suppressWarnings(rma(yi, vi, data = nd, method = m, test = tst, control = ctrl))
  ref$normand_fits[[paste(m, tst, sep = "_")]] <- fitinfo(res)
}
resn <- rma(yi, vi, data = nd, control = ctrl)
ref$normand_bias <- list(
  egger = list(z = regtest(resn)$zval, p = regtest(resn)$pval),
  egger_lm = list(t = regtest(resn, model = "lm")$zval, p = regtest(resn, model = "lm")$pval,
                  df = regtest(resn, model = "lm")$dfs),
  ranktest = list(tau = unname(ranktest(resn)$tau), p = ranktest(resn)$pval),
  trimfill_L0 = tfinfo(trimfill(resn, control = ctrl)),
  trimfill_R0 = tfinfo(trimfill(resn, estimator = "R0", control = ctrl)),
  fsn = fsn_info(nd))
ref$normand_leave1out <- list(estimate = leave1out(resn)$estimate, tau2 = leave1out(resn)$tau2,
                              I2 = leave1out(resn)$I2, se = leave1out(resn)$se)
ref$normand_influence <- infinfo(resn)

# ---- dat.bangertdrowns2004: SMD with covariates and missing values --------------------------------
bd <- dat.bangertdrowns2004
write.csv(as.data.frame(bd), file.path(out_dir, "data/dat_bangertdrowns2004.csv"), row.names = FALSE)
ref$bd_fits <- list()
for (m in c("REML", "DL", "PM", "ML")) for (tst in c("z", "knha")) {
  res <- suppressWarnings(rma(yi, vi, mods = ~ length + factor(grade) + meta, data = bd, method = m,
                              test = tst, control = ctrl))
  ref$bd_fits[[paste(m, tst, sep = "_")]] <- fitinfo(res)
}
ref$bd_int <- fitinfo(rma(yi, vi, data = bd, control = ctrl))
resb <- rma(yi, vi, data = bd, control = ctrl)
ref$bd_bias <- list(
  egger = list(z = regtest(resb)$zval, p = regtest(resb)$pval),
  egger_lm = list(t = regtest(resb, model = "lm")$zval, p = regtest(resb, model = "lm")$pval,
                  df = regtest(resb, model = "lm")$dfs),
  ranktest = list(tau = unname(ranktest(resb)$tau), p = ranktest(resb)$pval),
  trimfill_L0 = tfinfo(trimfill(resb, control = ctrl)),
  trimfill_R0 = tfinfo(trimfill(resb, estimator = "R0", control = ctrl)),
  fsn = fsn_info(bd))

# ---- escalc on constructed data: zero cells, change scores, conversions ---------------------------
tab <- data.frame(ai = c(0, 5, 10, 3, 0, 12), bi = c(20, 15, 10, 17, 25, 40),
                  ci = c(2, 0, 8, 6, 0, 20), di = c(18, 20, 12, 14, 25, 31))
write.csv(tab, file.path(out_dir, "data/escalc_2x2.csv"), row.names = FALSE)
esc <- function(meas, ...) { e <- escalc(measure = meas, ...); list(yi = c(e$yi), vi = e$vi) }
ref$escalc_2x2 <- list(RR = esc("RR", ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di),
                       OR = esc("OR", ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di),
                       RD = esc("RD", ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di),
                       OR2DL = esc("OR2DL", ai = tab$ai, bi = tab$bi, ci = tab$ci, di = tab$di))
chg <- data.frame(m_post = c(12.1, 30.5, 8.2, 101.0, 5.5), m_pre = c(10.0, 28.0, 9.0, 95.0, 5.5),
                  sd_post = c(3.1, 6.0, 2.2, 14.0, 1.2), sd_pre = c(2.9, 5.5, 2.0, 15.5, 1.0),
                  n = c(20, 45, 12, 150, 8), r = c(0.5, 0.7, 0.3, 0.8, 0.6),
                  mc_post = c(11.0, 29.0, 8.9, 97.0, 5.0), mc_pre = c(10.2, 28.5, 8.7, 96.0, 5.1),
                  sdc_post = c(3.0, 5.8, 2.1, 15.0, 1.1), sdc_pre = c(3.0, 5.6, 2.2, 15.2, 1.0),
                  nc = c(22, 40, 14, 148, 9))
write.csv(chg, file.path(out_dir, "data/escalc_change.csv"), row.names = FALSE)
smcr_t <- esc("SMCR", m1i = chg$m_post, m2i = chg$m_pre, sd1i = chg$sd_pre, ni = chg$n, ri = chg$r)
smcr_c <- esc("SMCR", m1i = chg$mc_post, m2i = chg$mc_pre, sd1i = chg$sdc_pre, ni = chg$nc, ri = chg$r)
ref$escalc_change <- list(
  SMCR = smcr_t, SMCR_control = smcr_c,
  SMCR_diff = list(yi = smcr_t$yi - smcr_c$yi, vi = smcr_t$vi + smcr_c$vi),
  SMCC = esc("SMCC", m1i = chg$m_post, m2i = chg$m_pre, sd1i = chg$sd_post, sd2i = chg$sd_pre,
             ni = chg$n, ri = chg$r),
  MC = esc("MC", m1i = chg$m_post, m2i = chg$m_pre, sd1i = chg$sd_post, sd2i = chg$sd_pre,
           ni = chg$n, ri = chg$r))
# conversions from test statistics: t, F(1 df) with a sign, two-sided p with a sign
conv <- data.frame(t = c(2.5, -1.2, 0.4, 3.9), n1 = c(20, 35, 50, 12), n2 = c(22, 30, 48, 12),
                   sign = c(1, -1, 1, 1), p = c(0.03, 0.20, 0.65, 0.001))
write.csv(conv, file.path(out_dir, "data/escalc_conv.csv"), row.names = FALSE)
t_from_p <- conv$sign * qt(conv$p / 2, df = conv$n1 + conv$n2 - 2, lower.tail = FALSE)
ref$escalc_conv <- list(
  from_t = esc("SMD", ti = conv$t, n1i = conv$n1, n2i = conv$n2),
  from_F = esc("SMD", ti = sign(conv$t) * sqrt(conv$t^2), n1i = conv$n1, n2i = conv$n2),
  from_p = esc("SMD", ti = t_from_p, n1i = conv$n1, n2i = conv$n2))

writeLines(toJSON(ref, digits = NA, auto_unbox = TRUE, null = "null", na = "null", pretty = FALSE),
           file.path(out_dir, "univariate.json"))
cat("wrote", file.path(out_dir, "univariate.json"), "\n")
