# Reference values for analysis/plots.py (engineer C): what metafor's forest/funnel/leave1out draw.
# Run from the repository root:  Rscript tests/reference/plots.R
# Needs R >= 4.2 with metafor 3.8, metadat, jsonlite. Writes tests/reference/plots.json and
# tests/reference/data/plots_bcg.csv (dat.bcg with escalc RR, study labels and grouping columns).
suppressMessages({ library(metafor); library(jsonlite) })
out_dir <- "tests/reference"
# Tight convergence (as univariate.R): metafor's default REML threshold 1e-5 leaves ~1e-5 errors in CIs.
ctrl <- list(threshold = 1e-12, tol = 1e-13, maxiter = 10000)
dir.create(file.path(out_dir, "data"), showWarnings = FALSE, recursive = TRUE)

dat <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
dat$slab <- paste(dat$author, dat$year, sep = ", ")
dat$lat <- ifelse(dat$ablat >= 40, "high", "low")
dat$lat3 <- ifelse(dat$trial == 13, "single", dat$lat)  # a group with one study
write.csv(data.frame(slab = dat$slab, yi = as.numeric(dat$yi), vi = as.numeric(dat$vi), alloc = dat$alloc,
                     ablat = dat$ablat, lat = dat$lat, lat3 = dat$lat3),
          file.path(out_dir, "data", "plots_bcg.csv"), row.names = FALSE)

# Study rows of forest(): yi with normal-theory CIs (summary.escalc), weights() in percent.
s <- summary(dat)
fit_one <- function(res) {
  p <- predict(res)
  list(estimate = as.numeric(res$beta), ci_lb = res$ci.lb, ci_ub = res$ci.ub,
       pi_lb = p$pi.lb, pi_ub = p$pi.ub, tau2 = res$tau2, I2 = res$I2, QE = res$QE, QEp = res$QEp,
       weights = as.numeric(weights(res)))
}
res <- rma(yi, vi, data = dat, method = "REML", control = ctrl)
res_knha <- rma(yi, vi, data = dat, method = "DL", test = "knha", control = ctrl)

# Subgroups with separate tau^2 (metafor tip "comparing estimates of independent meta-analyses"):
# fit each level, then a fixed-effect model on the level estimates; its QE is the between-groups Q.
subgroups <- function(group, method) {
  lv <- sort(unique(group))
  fits <- lapply(lv, function(g) rma(yi, vi, data = dat, subset = group == g, method = method,
                                        control = ctrl))
  comp <- rma(sapply(fits, function(f) as.numeric(f$beta)), sei = sapply(fits, function(f) f$se),
              method = "FE")
  list(levels = lv, fits = lapply(fits, fit_one), Q = comp$QE, df = length(lv) - 1, p = comp$QEp)
}
lat3 <- {
  lv <- c("high", "low")
  fits <- lapply(lv, function(g) rma(yi, vi, data = dat, subset = dat$lat3 == g, control = ctrl))
  comp <- rma(sapply(fits, function(f) as.numeric(f$beta)), sei = sapply(fits, function(f) f$se), method = "FE")
  list(levels = lv, fits = lapply(fits, fit_one), Q = comp$QE, df = 1, p = comp$QEp)
}

tf <- trimfill(res, control = ctrl)
l1 <- leave1out(res)
l1_knha <- leave1out(res_knha)

# Meta-regression: forest() draws fitted values with CIs (predict(), t(k-p) for knha).
reg <- rma(yi, vi, mods = ~ ablat, data = dat, control = ctrl)
reg_knha <- rma(yi, vi, mods = ~ ablat, data = dat, test = "knha", control = ctrl)
fitted_ci <- function(r) { p <- predict(r); list(pred = p$pred, ci_lb = p$ci.lb, ci_ub = p$ci.ub) }

out <- list(
  labels = dat$slab, yi = as.numeric(dat$yi), vi = as.numeric(dat$vi),
  study_ci_lb = s$ci.lb, study_ci_ub = s$ci.ub,
  reml = fit_one(res), dl_knha = fit_one(res_knha),
  sub_alloc = subgroups(dat$alloc, "REML"), sub_lat = subgroups(dat$lat, "REML"), sub_lat3 = lat3,
  trimfill = list(k0 = tf$k0, side = tf$side, estimate = as.numeric(tf$beta), se = tf$se,
                  filled_yi = as.numeric(tf$yi[tf$fill]), filled_vi = as.numeric(tf$vi[tf$fill])),
  leave1out = list(estimate = l1$estimate, ci_lb = l1$ci.lb, ci_ub = l1$ci.ub),
  leave1out_knha = list(estimate = l1_knha$estimate, ci_lb = l1_knha$ci.lb, ci_ub = l1_knha$ci.ub),
  fitted = fitted_ci(reg), fitted_knha = fitted_ci(reg_knha),
  funnel_contour_z = qnorm(1 - c(0.10, 0.05, 0.01) / 2)
)
write_json(out, file.path(out_dir, "plots.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE)
cat("wrote", file.path(out_dir, "plots.json"), "\n")
