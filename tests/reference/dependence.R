# Reference values for analysis/dependence.py: dependent effect sizes (issue #13).
# Run from the repository root:  Rscript tests/reference/dependence.R
# Needs R >= 4.2 with metafor 3.8, clubSandwich 0.5.8, jsonlite.
# Writes tests/reference/dependence.json and the dataset as tests/reference/data/dependence.csv.
suppressMessages({ library(metafor); library(clubSandwich); library(jsonlite) })
out_dir <- "tests/reference"
dir.create(file.path(out_dir, "data"), showWarnings = FALSE, recursive = TRUE)

# 8 studies with 2-4 effect sizes each; rows interleaved so that aggregate()'s cluster order
# (first appearance) differs from sorted order.
dat <- data.frame(
  study = c("S3", "S1", "S3", "S2", "S1", "S4", "S2", "S5", "S4", "S6", "S3", "S7", "S5", "S8", "S6", "S7",
            "S8", "S4", "S6", "S2", "S3", "S8"),
  es = c(1, 1, 2, 1, 2, 1, 2, 1, 2, 1, 3, 1, 2, 1, 2, 2, 2, 3, 3, 3, 4, 3),
  yi = c(1.03, -0.19, 0.12, 0.09, 0.46, 0.42, -0.27, 0.80, 1.29, -0.41, 0.82, 1.14, -0.08, 1.00, 0.46,
         0.42, 0.21, 1.12, -0.07, -0.39, 0.34, -0.06),
  vi = c(0.041, 0.062, 0.038, 0.025, 0.070, 0.090, 0.028, 0.051, 0.085, 0.033, 0.045, 0.120, 0.055,
         0.047, 0.036, 0.110, 0.052, 0.095, 0.031, 0.030, 0.049, 0.060)
)
write.csv(dat, file.path(out_dir, "data", "dependence.csv"), row.names = FALSE)
es <- escalc(measure = "GEN", yi = yi, vi = vi, data = dat)

out <- list(metafor = as.character(packageVersion("metafor")),
            clubSandwich = as.character(packageVersion("clubSandwich")), aggregate = list())
for (rho in c(0, 0.2, 0.4, 0.6, 0.8)) {
  agg <- aggregate(es, cluster = study, rho = rho, struct = "CS")
  re <- rma(yi, vi, data = agg, method = "REML", test = "knha")
  out$aggregate[[as.character(rho)]] <- list(
    rho = rho, study = as.character(agg$study), yi = as.numeric(agg$yi), vi = as.numeric(agg$vi),
    rma_knha = list(estimate = as.numeric(coef(re)), se = re$se, tau2 = re$tau2, pval = re$pval,
                    ci_lb = re$ci.lb, ci_ub = re$ci.ub, I2 = re$I2))
}
un <- aggregate(es, cluster = study, rho = 0.6, weighted = FALSE)
out$aggregate_unweighted <- list(rho = 0.6, study = as.character(un$study), yi = as.numeric(un$yi),
                                 vi = as.numeric(un$vi))

ml <- rma.mv(yi, vi, random = ~ 1 | study/es, data = dat, method = "REML")
W <- diag(1 / ml$vi)
X <- model.matrix(ml)
P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
s2 <- (ml$k - ml$p) / sum(diag(P))     # metafor FAQ "I^2 for multilevel models" (Cheung 2014)
ct <- coef_test(ml, vcov = "CR2", cluster = dat$study, test = "Satterthwaite")
out$rma_mv <- list(
  estimate = as.numeric(coef(ml)), se = ml$se, pval = ml$pval, sigma2 = ml$sigma2, QE = ml$QE,
  typical_v = s2, I2_total = 100 * sum(ml$sigma2) / (sum(ml$sigma2) + s2),
  I2_levels = as.numeric(100 * ml$sigma2 / (sum(ml$sigma2) + s2)),
  cr2 = list(estimate = ct$beta, se = ct$SE, tstat = ct$tstat, df_Satt = ct$df_Satt, p = ct$p_Satt))

write_json(out, file.path(out_dir, "dependence.json"), digits = NA, auto_unbox = TRUE, pretty = TRUE,
           null = "null")
