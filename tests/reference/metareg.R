# Reference values for analysis/metareg.py: meta-regression and subgroups on dependent effect sizes (issue #13).
# Run from the repository root:  Rscript tests/reference/metareg.R
# Needs R >= 4.2 with metafor 3.8, clubSandwich 0.5.8, jsonlite.
# Reads tests/reference/data/metareg_effects.csv (14 studies, 1-4 effect sizes each, three outcomes) and
# metareg_studies.csv (study-level moderators); writes tests/reference/metareg.json.
suppressMessages({ library(metafor); library(clubSandwich); library(jsonlite) })
out_dir <- "tests/reference"
eff <- read.csv(file.path(out_dir, "data", "metareg_effects.csv"), stringsAsFactors = FALSE)
stu <- read.csv(file.path(out_dir, "data", "metareg_studies.csv"), stringsAsFactors = FALSE)
dat <- merge(eff, stu, by = "study", sort = FALSE)
dat <- dat[order(dat$study, dat$es), ]

robust_fit <- function(fit, cluster, wald = list()) {
  ct <- coef_test(fit, vcov = "CR2", cluster = cluster, test = "Satterthwaite")
  out <- list(names = rownames(ct), beta = as.numeric(coef(fit)), model_se = as.numeric(fit$se),
              se = ct$SE, tstat = ct$tstat, df = ct$df_Satt, p = ct$p_Satt,
              sigma2 = if (is.null(fit$sigma2)) NULL else fit$sigma2,
              tau2 = if (is.null(fit$tau2)) NULL else fit$tau2, wald = list())
  V <- vcovCR(fit, cluster = cluster, type = "CR2")
  for (name in names(wald)) {
    w <- Wald_test(fit, constraints = constrain_zero(wald[[name]]), vcov = V, test = "HTZ")
    out$wald[[name]] <- list(Fstat = w$Fstat, df_num = w$df_num, df_denom = w$df_denom, p = w$p_val)
  }
  out
}

out <- list(metafor = as.character(packageVersion("metafor")),
            clubSandwich = as.character(packageVersion("clubSandwich")))

# three-level model, a numeric and a categorical moderator (reference level: automated)
m1 <- rma.mv(yi, vi, mods = ~ female_pct + guidance, random = ~ 1 | study/es, data = dat, method = "REML")
out$numeric_categorical <- robust_fit(m1, dat$study, list(guidance = 3:4, female_pct = 2))

# three-level model, a threshold and a two-level categorical moderator
m2 <- rma.mv(yi, vi, mods = ~ I(female_pct > 70) + control_type, random = ~ 1 | study/es, data = dat,
             method = "REML")
out$threshold <- robust_fit(m2, dat$study, list(control_type = 3))

# one effect size per study (the first): the random-effects model with the same moderators
one <- dat[dat$es == 1, ]
m3 <- rma(yi, vi, mods = ~ female_pct + guidance, data = one, method = "REML", test = "knha")
out$independent <- robust_fit(m3, one$study, list(guidance = 3:4))

# subgroups by outcome: a separate model per outcome, three-level + CR2 where a study gives several
# effect sizes of that outcome, else the random-effects model (REML, Knapp-Hartung)
out$subgroups <- list()
for (lv in sort(unique(dat$outcome))) {
  sub <- dat[dat$outcome == lv, ]
  if (any(duplicated(sub$study))) {
    f <- rma.mv(yi, vi, random = ~ 1 | study/es, data = sub, method = "REML")
    ct <- coef_test(f, vcov = "CR2", cluster = sub$study, test = "Satterthwaite")
    ci <- conf_int(f, vcov = "CR2", cluster = sub$study)
    out$subgroups[[lv]] <- list(model = "three-level CR2", k = nrow(sub), studies = length(unique(sub$study)),
                                estimate = ct$beta, se = ct$SE, df = ct$df_Satt, p = ct$p_Satt,
                                ci_lb = ci$CI_L, ci_ub = ci$CI_U, sigma2 = f$sigma2)
  } else {
    f <- rma(yi, vi, data = sub, method = "REML", test = "knha")
    out$subgroups[[lv]] <- list(model = "random-effects knha", k = nrow(sub), studies = length(unique(sub$study)),
                                estimate = as.numeric(coef(f)), se = f$se, df = f$k - 1, p = f$pval,
                                ci_lb = f$ci.lb, ci_ub = f$ci.ub, tau2 = f$tau2)
  }
}
m4 <- rma.mv(yi, vi, mods = ~ outcome, random = ~ 1 | study/es, data = dat, method = "REML")
out$subgroup_test <- robust_fit(m4, dat$study, list(outcome = 2:3))

# leave one study out of the primary model (all its effect sizes): three-level + CR2 on the rest
out$leave_one_study_out <- list()
for (s in sort(unique(dat$study))) {
  rest <- dat[dat$study != s, ]
  f <- rma.mv(yi, vi, random = ~ 1 | study/es, data = rest, method = "REML")
  ct <- coef_test(f, vcov = "CR2", cluster = rest$study, test = "Satterthwaite")
  ci <- conf_int(f, vcov = "CR2", cluster = rest$study)
  out$leave_one_study_out[[s]] <- list(k = nrow(rest), studies = length(unique(rest$study)), estimate = ct$beta,
                                       se = ct$SE, df = ct$df_Satt, p = ct$p_Satt, ci_lb = ci$CI_L,
                                       ci_ub = ci$CI_U, sigma2 = f$sigma2)
}

write_json(out, file.path(out_dir, "metareg.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null")
