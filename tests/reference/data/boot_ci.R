# Reference values for rsastats.inference.bootstrap.confidence_interval from R boot::boot.ci.
# Run from this folder:  Rscript boot_ci.R
# The replicates are computed here from a fixed resample index matrix (boot_ci_indices.csv, 1-based,
# one resample per row) so that Python can recompute exactly the same replicates; the BCa acceleration
# comes from jackknife influence values: boot's own (empinf(type = "jack"): L_i = (n-1)(t0 - t_-i), rows
# "bca") and the textbook ones centred on the mean of the leave-one-out values (Efron & Tibshirani 1993,
# eq. 14.15: L_i = (n-1)(mean(t_-.) - t_-i), rows "bca_efron"), which is what rsastats computes.
# Writes boot_ci_data.csv, boot_ci_indices.csv, boot_ci_replicates.csv, boot_ci_results.csv.
suppressPackageStartupMessages(library(boot))
set.seed(7)
n <- 30
R <- 1999
x <- rnorm(n)
data <- data.frame(
  x = x,
  y = 0.6 * x + rnorm(n, sd = 0.8),
  skewed = rlnorm(n, sdlog = 1)
)
indices <- t(replicate(R, sample(n, replace = TRUE)))
statistics <- list(
  pearson = function(d, i) cor(d$x[i], d$y[i]),
  spearman = function(d, i) cor(d$x[i], d$y[i], method = "spearman"),
  mean_skewed = function(d, i) mean(d$skewed[i])
)
results <- data.frame()
replicates <- data.frame(index = seq_len(R))
for (name in names(statistics)) {
  f <- statistics[[name]]
  t0 <- f(data, seq_len(n))
  t <- apply(indices, 1, function(i) f(data, i))
  replicates[[name]] <- sprintf("%.17g", t)
  L <- empinf(data = data, statistic = f, type = "jack", stype = "i")
  tj <- sapply(seq_len(n), function(i) f(data, seq_len(n)[-i]))
  L_efron <- (n - 1) * (mean(tj) - tj)
  b <- boot(data, f, R = R)  # a carrier of the right size: boot.ci gets t0, t and L explicitly below
  for (conf in c(0.90, 0.95, 0.99)) {
    ci <- boot.ci(b, conf = conf, type = c("perc", "basic", "bca"), t0 = t0, t = t, L = L)
    ci_efron <- boot.ci(b, conf = conf, type = "bca", t0 = t0, t = t, L = L_efron)
    rows <- list(percent = list(ci$percent, NA), basic = list(ci$basic, NA),
                 bca = list(ci$bca, sum(L^3) / (6 * sum(L^2)^1.5)),
                 bca_efron = list(ci_efron$bca, sum(L_efron^3) / (6 * sum(L_efron^2)^1.5)))
    for (type in names(rows)) {
      row <- rows[[type]][[1]]
      results <- rbind(results, data.frame(statistic = name, conf = conf, type = type,
                                           estimate = sprintf("%.17g", t0),
                                           low = sprintf("%.17g", row[4]), high = sprintf("%.17g", row[5]),
                                           acceleration = sprintf("%.17g", rows[[type]][[2]])))
    }
  }
}
write.csv(data.frame(lapply(data, function(v) sprintf("%.17g", v))), "boot_ci_data.csv", row.names = FALSE)
write.csv(indices, "boot_ci_indices.csv", row.names = FALSE)
write.csv(replicates, "boot_ci_replicates.csv", row.names = FALSE)
write.csv(results, "boot_ci_results.csv", row.names = FALSE)
cat("boot", as.character(packageVersion("boot")), "on", R.version.string, "\n")
