# Reference values for rsastats.inference.mantel from R vegan::mantel.
# Run from this folder:  Rscript vegan_mantel.R
# Writes: vegan_mantel_rdms.csv (the RDMs), vegan_mantel_perms.csv (the permutation matrix, 1-based,
# one permutation per row, passed to vegan as `permutations=`), vegan_mantel_results.csv (statistic and
# p-value per case) and vegan_mantel_perm_stats.csv (the statistic under every permutation).
suppressPackageStartupMessages(library(vegan))
set.seed(20240517)
n <- 12
B <- 999
perms <- t(replicate(B, sample(n)))
x <- matrix(rnorm(n * 5), n, 5)
related <- x + matrix(rnorm(n * 5, sd = 0.8), n, 5)
unrelated <- matrix(rnorm(n * 5), n, 5)
rdms <- list(a = as.matrix(dist(x)), b = as.matrix(dist(related)), c = as.matrix(dist(unrelated)))
cases <- list(c("a", "b"), c("a", "c"))
results <- data.frame()
perm_stats <- data.frame()
for (case in cases) {
  for (method in c("pearson", "spearman", "kendall")) {
    m <- mantel(rdms[[case[1]]], rdms[[case[2]]], method = method, permutations = perms)
    results <- rbind(results, data.frame(x = case[1], y = case[2], method = method,
                                         statistic = sprintf("%.17g", m$statistic),
                                         signif = sprintf("%.17g", m$signif), permutations = m$permutations))
    perm_stats <- rbind(perm_stats, data.frame(x = case[1], y = case[2], method = method, index = seq_len(B),
                                               value = sprintf("%.17g", m$perm)))
  }
}
long <- do.call(rbind, lapply(names(rdms), function(k) {
  d <- rdms[[k]]
  data.frame(rdm = k, row = rep(seq_len(n), n), col = rep(seq_len(n), each = n), value = sprintf("%.17g", as.vector(d)))
}))
write.csv(long, "vegan_mantel_rdms.csv", row.names = FALSE)
write.csv(perms, "vegan_mantel_perms.csv", row.names = FALSE)
write.csv(results, "vegan_mantel_results.csv", row.names = FALSE)
write.csv(perm_stats, "vegan_mantel_perm_stats.csv", row.names = FALSE)
cat("vegan", as.character(packageVersion("vegan")), "on", R.version.string, "\n")
