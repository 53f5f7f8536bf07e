# Reference values for the bundled example review (examples/social_media, issue #13): every model the demo's
# report shows, fitted by metafor + clubSandwich on the example's known numbers.
# Run from the repository root:  Rscript tests/reference/example.R
# Needs R >= 4.2 with metafor 3.8, clubSandwich 0.5.8, jsonlite.
# Reads examples/social_media/trials.csv and outcomes.csv (the trials that meet every full-text rule, one row
# per outcome measure); writes tests/reference/example.json.
suppressMessages({ library(metafor); library(clubSandwich); library(jsonlite) })
ex <- "examples/social_media"
trials <- read.csv(file.path(ex, "trials.csv"), stringsAsFactors = FALSE)
trials <- trials[trials$fails_rule == "" | is.na(trials$fails_rule), ]
outs <- read.csv(file.path(ex, "outcomes.csv"), stringsAsFactors = FALSE)
dat <- merge(outs[outs$trial_id %in% trials$trial_id, ],
             trials[, c("trial_id", "female_pct", "guidance", "control_type")], by = "trial_id", sort = FALSE)
dat <- dat[order(dat$trial_id), ]
dat$es <- seq_len(nrow(dat))
dat <- escalc(measure = "SMD", m1i = post_mean_1, sd1i = post_sd_1, n1i = n_1, m2i = post_mean_2,
              sd2i = post_sd_2, n2i = n_2, data = dat)
ctl <- list(threshold = 1e-12)  # metafor's default (1e-5) leaves its own tau2 off by ~1e-6
mlctl <- list(rel.tol = 1e-10, iter.max = 2000, eval.max = 4000)  # nlminb run to convergence, as for rma

robust <- function(fit, cluster, wald = list()) {
  ct <- coef_test(fit, vcov = "CR2", cluster = cluster, test = "Satterthwaite")
  ci <- conf_int(fit, vcov = "CR2", cluster = cluster)
  out <- list(names = rownames(ct), beta = as.numeric(coef(fit)), model_se = as.numeric(fit$se), se = ct$SE,
              tstat = ct$tstat, df = ct$df_Satt, p = ct$p_Satt, ci_lb = ci$CI_L, ci_ub = ci$CI_U,
              sigma2 = if (is.null(fit$sigma2)) NULL else fit$sigma2, wald = list())
  V <- vcovCR(fit, cluster = cluster, type = "CR2")
  for (name in names(wald)) {
    w <- Wald_test(fit, constraints = constrain_zero(wald[[name]]), vcov = V, test = "HTZ")
    out$wald[[name]] <- list(Fstat = w$Fstat, df_num = w$df_num, df_denom = w$df_denom, p = w$p_val)
  }
  out
}

out <- list(metafor = as.character(packageVersion("metafor")),
            clubSandwich = as.character(packageVersion("clubSandwich")),
            k = nrow(dat), studies = length(unique(dat$trial_id)), trial_id = dat$trial_id,
            yi = as.numeric(dat$yi), vi = as.numeric(dat$vi))

# every effect size as if independent (the demo's first check; the report's comparison model, Knapp-Hartung)
naive <- rma(yi, vi, data = dat, method = "REML", control = mlctl)
naive_kh <- rma(yi, vi, data = dat, method = "REML", test = "knha")
out$naive <- list(estimate = as.numeric(coef(naive)), se = naive$se, tau2 = naive$tau2,
                  knha_se = naive_kh$se, knha_ci_lb = naive_kh$ci.lb, knha_ci_ub = naive_kh$ci.ub)

# the primary model: three-level (effect sizes within trials), CR2 robust variance, Satterthwaite df
ml <- rma.mv(yi, vi, random = ~ 1 | trial_id/es, data = dat, method = "REML", control = mlctl)
rb <- robust(ml, dat$trial_id)
pr <- predict(ml)
# the report's prediction interval of the robust model: the t(Satterthwaite df) quantile times
# sqrt(robust se^2 + sigma2 between + sigma2 within) (clubSandwich gives no prediction interval)
half <- qt(0.975, rb$df) * sqrt(rb$se^2 + sum(ml$sigma2))
out$primary <- list(robust_pi_lb = rb$beta - half, robust_pi_ub = rb$beta + half, estimate = rb$beta, se = rb$se, df = rb$df, p = rb$p, ci_lb = rb$ci_lb, ci_ub = rb$ci_ub,
                    model_se = rb$model_se, model_ci_lb = ml$ci.lb, model_ci_ub = ml$ci.ub, sigma2 = ml$sigma2,
                    pi_lb = pr$pi.lb, pi_ub = pr$pi.ub, weights = as.numeric(weights(ml)))

# the sensitivity model: one effect per trial (aggregate, compound symmetry, rho), random effects, Knapp-Hartung
out$aggregated <- list()
for (rho in c(0.2, 0.4, 0.6, 0.8)) {
  agg <- aggregate(dat, cluster = trial_id, rho = rho)
  fa <- rma(yi, vi, data = agg, method = "REML", test = "knha", control = ctl)
  out$aggregated[[sprintf("%.1f", rho)]] <- list(k = fa$k, yi = as.numeric(agg$yi), vi = as.numeric(agg$vi),
                                                 estimate = as.numeric(coef(fa)), se = fa$se, p = fa$pval,
                                                 ci_lb = fa$ci.lb, ci_ub = fa$ci.ub, tau2 = fa$tau2, I2 = fa$I2)
}

# the meta-regression of the demo's [analysis] moderators (reference levels: human-guided, attention control)
mr <- rma.mv(yi, vi, mods = ~ I(female_pct > 70) + guidance + control_type, random = ~ 1 | trial_id/es,
             data = dat, method = "REML", control = mlctl)
out$metareg <- robust(mr, dat$trial_id, list(`female_pct > 70` = 2, guidance = 3, control_type = 4:5))

# subgroups by outcome domain: a three-level CR2 model per domain, and the robust test of their differences
out$subgroups <- list()
for (lv in sort(unique(dat$outcome))) {
  sub <- dat[dat$outcome == lv, ]
  f <- rma.mv(yi, vi, random = ~ 1 | trial_id/es, data = sub, method = "REML", control = mlctl)
  r <- robust(f, sub$trial_id)
  out$subgroups[[lv]] <- list(k = nrow(sub), studies = length(unique(sub$trial_id)), estimate = r$beta,
                              se = r$se, df = r$df, p = r$p, ci_lb = r$ci_lb, ci_ub = r$ci_ub)
}
sg <- rma.mv(yi, vi, mods = ~ outcome, random = ~ 1 | trial_id/es, data = dat, method = "REML", control = mlctl)
out$subgroup_test <- robust(sg, dat$trial_id, list(outcome = 2:3))$wald$outcome

# small-study effects: the Egger-type test on the three-level model (sqrt(vi) as moderator, CR2 on its slope)
# and the classic tests on one aggregated effect per trial (rho = 0.6)
eg <- rma.mv(yi, vi, mods = ~ sqrt(vi), random = ~ 1 | trial_id/es, data = dat, method = "REML", control = mlctl)
out$egger_multilevel <- robust(eg, dat$trial_id)
agg <- aggregate(dat, cluster = trial_id, rho = 0.6)
fa <- rma(yi, vi, data = agg, method = "REML", test = "knha", control = ctl)
rt <- regtest(fa)
rk <- ranktest(fa)
tf <- trimfill(rma(yi, vi, data = agg, method = "REML", control = ctl))
fs <- fsn(yi, vi, data = agg)
out$classic <- list(egger_t = rt$zval, egger_p = rt$pval, egger_df = rt$dfs, rank_tau = as.numeric(rk$tau),
                    rank_p = rk$pval, trimfill_k0 = tf$k0, trimfill_side = tf$side,
                    trimfill_estimate = as.numeric(tf$beta), trimfill_se = tf$se, fsn_rosenthal = fs$fsnum)

# leave one trial out of the primary model (all its effect sizes together)
out$leave_one_study_out <- list()
for (s in sort(unique(dat$trial_id))) {
  rest <- dat[dat$trial_id != s, ]
  f <- rma.mv(yi, vi, random = ~ 1 | trial_id/es, data = rest, method = "REML", control = mlctl)
  r <- robust(f, rest$trial_id)
  out$leave_one_study_out[[s]] <- list(estimate = r$beta, se = r$se, df = r$df, ci_lb = r$ci_lb, ci_ub = r$ci_ub)
}

write_json(out, "tests/reference/example.json", digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null")
