# Reference values for analysis/multilevel.py and analysis/rve.py (engineer B).
# Run from the repository root:  Rscript tests/reference/multilevel.R
# Needs R >= 4.2 with metafor 3.8, metadat, clubSandwich 0.5.8, robumeta 2.0, jsonlite.
# Writes tests/reference/multilevel.json and the datasets as CSV under tests/reference/data/.
suppressMessages({
  library(metafor); library(clubSandwich); library(robumeta); library(jsonlite)
})
out_dir <- "tests/reference"
dir.create(file.path(out_dir, "data"), showWarnings = FALSE, recursive = TRUE)

dat <- dat.assink2016
write.csv(dat, file.path(out_dir, "data", "dat_assink2016.csv"), row.names = FALSE)
data(hierdat, package = "robumeta"); data(corrdat, package = "robumeta")
hierdat <- as.data.frame(hierdat); corrdat <- as.data.frame(corrdat)
attributes(hierdat)[c("datalabel","time.stamp","formats","types","val.labels","var.labels","version")] <- NULL
attributes(corrdat)[c("datalabel","time.stamp","formats","types","val.labels","var.labels","version","label.table")] <- NULL
write.csv(hierdat, file.path(out_dir, "data", "robu_hierdat.csv"), row.names = FALSE)
write.csv(corrdat, file.path(out_dir, "data", "robu_corrdat.csv"), row.names = FALSE)

mods_formula <- function(mods) {
  if (is.null(mods)) return(NULL)
  if (mods == "deltype") return(~ factor(deltype))
  as.formula(paste("~", mods))
}

# Level-specific I^2 the Assink & Wibbelink (2016) way: "typical" sampling variance of
# Higgins & Thompson (2002), (k-1) sum(w) / (sum(w)^2 - sum(w^2)), w = 1/vi.
assink_i2 <- function(fit) {
  w <- 1 / fit$vi; k <- length(fit$vi)
  v <- (k - 1) * sum(w) / (sum(w)^2 - sum(w^2))
  total <- sum(fit$sigma2) + v
  list(typical_v = v, sampling = 100 * v / total, level2 = 100 * fit$sigma2[2] / total,
       level3 = 100 * fit$sigma2[1] / total, total = 100 * sum(fit$sigma2) / total)
}

# Small simulated three-level sets whose REML estimate of one variance sits on the boundary (0):
# seed 3 -> study level, seed 7 -> effect-size level.
sim_data <- function(seed) {
  set.seed(seed)
  d <- data.frame(study = rep(1:12, each = 3), esid = rep(1:3, 12))
  d$vi <- runif(36, 0.02, 0.1)
  d$yi <- 0.2 + rnorm(36, 0, 0.15) + rnorm(36, 0, sqrt(d$vi))
  d
}
datasets <- list(assink = dat, sim_seed3 = sim_data(3), sim_seed7 = sim_data(7))
for (nm in c("sim_seed3", "sim_seed7"))
  write.csv(datasets[[nm]], file.path(out_dir, "data", paste0("ml_", nm, ".csv")), row.names = FALSE)

mv_case <- function(mods = NULL, method = "REML", test = "z", data = "assink") {
  f <- mods_formula(mods)
  d <- datasets[[data]]
  fit <- if (is.null(f)) rma.mv(yi, vi, random = ~ 1 | study/esid, data = d, method = method, test = test)
         else rma.mv(yi, vi, mods = f, random = ~ 1 | study/esid, data = d, method = method, test = test)
  res <- list(spec = list(mods = mods, method = method, test = test, data = data),
    coef_names = rownames(fit$beta), k = fit$k, p = fit$p, n_studies = length(unique(d$study)),
    sigma2 = fit$sigma2, beta = as.vector(fit$beta), se = fit$se, stat = fit$zval, pval = fit$pval,
    ci_lb = fit$ci.lb, ci_ub = fit$ci.ub, vb = unname(fit$vb), df = if (test == "t") fit$ddf[[1]] else NULL,
    QE = fit$QE, QEp = fit$QEp, QM = fit$QM, QMp = fit$QMp, QMdf = fit$QMdf,
    logLik = as.numeric(logLik(fit)), deviance = as.numeric(deviance(fit)), AIC = AIC(fit), BIC = BIC(fit),
    I2 = assink_i2(fit))
  if (is.null(mods)) { pr <- predict(fit); res$pi_lb <- pr$pi.lb; res$pi_ub <- pr$pi.ub }
  list(fit = fit, res = res)
}

mv <- list(
  reml = mv_case(),
  ml = mv_case(method = "ML"),
  reml_deltype = mv_case("deltype"),
  reml_year_t = mv_case("year", test = "t"),
  reml_t = mv_case(test = "t"),
  boundary_study = mv_case(data = "sim_seed3"),
  boundary_es = mv_case(data = "sim_seed7")
)

uni_case <- function(mods = NULL) {
  f <- mods_formula(mods)
  fit <- if (is.null(f)) rma(yi, vi, data = dat, method = "REML") else rma(yi, vi, mods = f, data = dat, method = "REML")
  list(fit = fit, res = list(spec = list(mods = mods, method = "REML"), coef_names = rownames(fit$beta),
       tau2 = fit$tau2, beta = as.vector(fit$beta), se = fit$se))
}
uni <- list(reml = uni_case(), reml_year = uni_case("year"))

cr_case <- function(fit, type) {
  V <- vcovCR(fit, cluster = dat$study, type = type)
  ct <- coef_test(fit, vcov = V, test = "Satterthwaite")
  ci <- conf_int(fit, vcov = V, level = 0.95, test = "Satterthwaite")
  res <- list(type = type, beta = ct$beta, SE = ct$SE, tstat = ct$tstat, df = ct$df_Satt, p = ct$p_Satt,
              ci_lb = ci$CI_L, ci_ub = ci$CI_U, vcov = unname(as.matrix(V)))
  if (length(ct$beta) > 1) {
    w <- Wald_test(fit, constraints = constrain_zero(2:length(ct$beta)), vcov = V,
                   test = c("chi-sq", "Naive-F", "HTZ"))
    res$wald <- lapply(split(w, w$test), function(r) as.list(r[, c("Fstat", "delta", "df_num", "df_denom", "p_val")]))
  }
  res
}
cr <- list()
for (nm in names(mv)) if (mv[[nm]]$res$spec$method == "REML" && mv[[nm]]$res$spec$data == "assink")
  for (type in c("CR2", "CR1")) cr[[paste("mv", nm, type, sep = "_")]] <- c(list(model = paste0("mv_", nm)), cr_case(mv[[nm]]$fit, type))
for (nm in names(uni))
  for (type in c("CR2", "CR1")) cr[[paste("uni", nm, type, sep = "_")]] <- c(list(model = paste0("uni_", nm)), cr_case(uni[[nm]]$fit, type))

# metafor's robust() on the three-level fit (clubSandwich inside) with its prediction interval
rob <- robust(mv$reml$fit, cluster = dat$study, clubSandwich = TRUE)
prr <- predict(rob)
metafor_robust <- list(beta = as.vector(rob$beta), se = rob$se, df = rob$ddf[[1]], pi_lb = prr$pi.lb, pi_ub = prr$pi.ub,
                       ci_lb = prr$ci.lb, ci_ub = prr$ci.ub)

robu_case <- function(data_name, formula, modelweights, rho = 0.8, small = TRUE) {
  d <- switch(data_name, assink = dat, hierdat = hierdat, corrdat = corrdat)
  fit <- if (data_name == "assink")
      robu(as.formula(formula), data = d, studynum = study, var.eff.size = vi, modelweights = modelweights, rho = rho, small = small)
    else robu(as.formula(formula), data = d, studynum = studyid, var.eff.size = var, modelweights = modelweights, rho = rho, small = small)
  tab <- fit$reg_table
  res <- list(spec = list(data = data_name, formula = formula, modelweights = modelweights, rho = rho, small = small),
    labels = as.character(tab$labels), b = tab$b.r, SE = tab$SE, t = tab$t, df = tab$dfs, p = tab$prob,
    ci_lb = tab$CI.L, ci_ub = tab$CI.U, VR = unname(fit$VR.r), N = fit$N, M = fit$M,
    tau2 = as.numeric(fit$mod_info$tau.sq),
    omega2 = if (modelweights == "HIER") as.numeric(fit$mod_info$omega.sq) else NULL,
    I2 = if (modelweights == "CORR") as.numeric(fit$mod_info$I.2) else NULL)
  p <- nrow(tab)
  if (p > 1 && small) {
    w <- Wald_test(fit, constraints = constrain_zero(2:p), vcov = "CR2", test = "HTZ")
    res$wald_htz <- as.list(w[1, c("Fstat", "delta", "df_num", "df_denom", "p_val")])
  }
  res
}
robu_specs <- list(
  assink_corr = list("assink", "yi ~ 1", "CORR"),
  assink_corr_rho5 = list("assink", "yi ~ 1", "CORR", 0.5),
  assink_corr_year = list("assink", "yi ~ year", "CORR"),
  assink_corr_year_large = list("assink", "yi ~ year", "CORR", 0.8, FALSE),
  assink_hier = list("assink", "yi ~ 1", "HIER"),
  assink_hier_year = list("assink", "yi ~ year", "HIER"),
  assink_hier_year_large = list("assink", "yi ~ year", "HIER", 0.8, FALSE),
  corrdat_corr = list("corrdat", "effectsize ~ males + college + binge", "CORR"),
  corrdat_corr_large = list("corrdat", "effectsize ~ males + college + binge", "CORR", 0.8, FALSE),
  hierdat_hier = list("hierdat", "effectsize ~ binge + followup + sreport + age", "HIER"),
  hierdat_hier_large = list("hierdat", "effectsize ~ binge + followup + sreport + age", "HIER", 0.8, FALSE)
)
robu_res <- lapply(robu_specs, function(s) do.call(robu_case, s))

out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  clubSandwich = as.character(packageVersion("clubSandwich")),
                  robumeta = as.character(packageVersion("robumeta"))),
  multilevel = lapply(mv, function(x) x$res),
  uni = lapply(uni, function(x) x$res),
  cr = cr,
  metafor_robust = metafor_robust,
  robu = robu_res)
write_json(out, file.path(out_dir, "multilevel.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE, null = "null")
cat("wrote", file.path(out_dir, "multilevel.json"), "\n")
