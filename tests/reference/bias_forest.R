# Reference values for the dependence-aware small-study test and the forest plots' numbers (issue #13).
# Run from the repository root:  Rscript tests/reference/bias_forest.R
# Needs R >= 4.2 with metafor 3.8, clubSandwich 0.5.8, jsonlite.
# Reads tests/reference/data/metareg_effects.csv (14 studies, 1-4 effect sizes each); writes
# tests/reference/bias_forest.json.
suppressMessages({ library(metafor); library(clubSandwich); library(jsonlite) })
out_dir <- "tests/reference"
dat <- read.csv(file.path(out_dir, "data", "metareg_effects.csv"), stringsAsFactors = FALSE)
dat <- dat[order(dat$study, dat$es), ]

out <- list(metafor = as.character(packageVersion("metafor")),
            clubSandwich = as.character(packageVersion("clubSandwich")))

# Egger-type test on the three-level model: the standard error as a moderator, CR2 + Satterthwaite on its
# slope; the intercept is the PET estimate (the effect of a study with standard error 0)
egger_ml <- function(fit, cluster) {
  ct <- coef_test(fit, vcov = "CR2", cluster = cluster, test = "Satterthwaite")
  ci <- conf_int(fit, vcov = "CR2", cluster = cluster)
  list(names = rownames(ct), beta = as.numeric(coef(fit)), se = ct$SE, tstat = ct$tstat, df = ct$df_Satt,
       p = ct$p_Satt, ci_lb = ci$CI_L, ci_ub = ci$CI_U, sigma2 = fit$sigma2)
}
m_egger <- rma.mv(yi, vi, mods = ~ sqrt(vi), random = ~ 1 | study/es, data = dat, method = "REML")
out$egger_multilevel <- egger_ml(m_egger, dat$study)

# the classic tests on one aggregated effect per study (compound symmetry, rho = 0.6, as the report);
# threshold 1e-12: metafor's default (1e-5) leaves its own tau2 off by ~1e-6
esc <- escalc(yi = yi, vi = vi, data = dat, measure = "GEN")
agg <- aggregate(esc, cluster = study, rho = 0.6)
ma <- rma(yi, vi, data = agg, method = "REML", test = "knha", control = list(threshold = 1e-12))
eg <- regtest(ma)
rk <- ranktest(ma)
tf <- trimfill(rma(yi, vi, data = agg, method = "REML", control = list(threshold = 1e-12)))
out$aggregated <- list(k = ma$k, yi = as.numeric(agg$yi), vi = as.numeric(agg$vi),
                       egger_stat = eg$zval, egger_p = eg$pval, egger_df = eg$dfs,
                       rank_tau = as.numeric(rk$tau), rank_p = rk$pval,
                       trimfill_k0 = tf$k0, trimfill_side = tf$side, trimfill_estimate = as.numeric(tf$beta),
                       weights = as.numeric(weights(ma)),
                       pi_lb = predict(ma)$pi.lb, pi_ub = predict(ma)$pi.ub)

# the three-level model: % weights (metafor weights(): diagonal of the inverse marginal covariance) and the
# prediction interval (predict(): sigma2 summed, z-based)
m3 <- rma.mv(yi, vi, random = ~ 1 | study/es, data = dat, method = "REML")
pr <- predict(m3)
out$multilevel <- list(weights = as.numeric(weights(m3)), pi_lb = pr$pi.lb, pi_ub = pr$pi.ub,
                       estimate = as.numeric(coef(m3)))

write_json(out, file.path(out_dir, "bias_forest.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null")
