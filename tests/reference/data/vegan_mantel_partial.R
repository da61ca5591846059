# Reference values for rsastats.inference.partial_mantel from R vegan::mantel.partial.
# Run from this folder:  Rscript vegan_mantel_partial.R
# Writes: vegan_partial_rdms.csv (the RDMs x, y, z), vegan_partial_perms.csv (the permutation matrix,
# 1-based, one permutation per row, passed to vegan as `permutations=`), vegan_partial_results.csv
# (statistic and p-value per case) and vegan_partial_perm_stats.csv (the statistic under every permutation).
suppressPackageStartupMessages(library(vegan))
set.seed(20261202)
n <- 12
B <- 999
perms <- t(replicate(B, sample(n)))
latent <- matrix(rnorm(n * 4), n, 4)
confound <- latent[, 1:2] + matrix(rnorm(n * 2, sd = 0.7), n, 2)
x <- latent + matrix(rnorm(n * 4, sd = 0.6), n, 4)
y <- cbind(latent[, 1:2], matrix(rnorm(n * 2), n, 2)) + matrix(rnorm(n * 4, sd = 0.6), n, 4)
w <- matrix(rnorm(n * 4), n, 4)
rdms <- list(x = as.matrix(dist(x)), y = as.matrix(dist(y)), z = as.matrix(dist(confound)), w = as.matrix(dist(w)))
cases <- list(c("x", "y", "z"), c("x", "w", "z"))
results <- data.frame()
perm_stats <- data.frame()
for (case in cases) {
  for (method in c("pearson", "spearman")) {
    m <- mantel.partial(rdms[[case[1]]], rdms[[case[2]]], rdms[[case[3]]], method = method, permutations = perms)
    results <- rbind(results, data.frame(x = case[1], y = case[2], z = case[3], method = method,
                                         statistic = sprintf("%.17g", m$statistic),
                                         signif = sprintf("%.17g", m$signif), permutations = m$permutations))
    perm_stats <- rbind(perm_stats, data.frame(x = case[1], y = case[2], z = case[3], method = method,
                                               index = seq_len(B), value = sprintf("%.17g", m$perm)))
  }
}
long <- do.call(rbind, lapply(names(rdms), function(k) {
  d <- rdms[[k]]
  data.frame(rdm = k, row = rep(seq_len(n), n), col = rep(seq_len(n), each = n), value = sprintf("%.17g", as.vector(d)))
}))
write.csv(long, "vegan_partial_rdms.csv", row.names = FALSE)
write.csv(perms, "vegan_partial_perms.csv", row.names = FALSE)
write.csv(results, "vegan_partial_results.csv", row.names = FALSE)
write.csv(perm_stats, "vegan_partial_perm_stats.csv", row.names = FALSE)
cat("vegan", as.character(packageVersion("vegan")), "on", R.version.string, "\n")
