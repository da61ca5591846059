# Reference values for tests/reference/test_decomposition_lme4.py: lme4 fits of the decomposition fixtures.
#
#   Rscript tests/reference/data/decomposition_lme4.R        (from the repository root)
#
# Reads decomposition_fixture{1,2,3}.csv (written by make_decomposition_fixture.py), rank-transforms the
# cell values within each file exactly as rsastats does (average ranks, centred, divided by the
# population standard deviation), fits the decomposition model by REML and by ML, refits without some
# components for likelihood-ratio statistics, and writes decomposition_lme4.csv beside this script.
# Made with R 4.2.2 and lme4 1.1.31 (Debian packages r-base-core, r-cran-lme4).
suppressPackageStartupMessages(library(lme4))

here <- "tests/reference/data"
full_formula <- y ~ 1 + (1 | cell) + (1 | cell:model) + (1 | cell:method) + (1 | cell:precision) +
  (1 | cell:experiment) + (0 + generation | cell:temperature) + (1 | cell:model:experiment)
# fixture3: ten components, two of them on the boundary.
formula3 <- y ~ 1 + (1 | cell) + (1 | cell:model) + (1 | cell:method) + (1 | cell:precision) +
  (1 | cell:experiment) + (0 + generation | cell:temperature) + (0 + generation | cell:seed) +
  (1 | cell:model:method) + (1 | cell:model:precision) + (1 | cell:model:experiment)
# lme4 names each term by its grouping factor; rsastats by the factors without "cell".
term_names <- c("cell" = "shared", "cell:model" = "model", "cell:method" = "method",
                "cell:precision" = "precision", "cell:experiment" = "experiment",
                "cell:temperature" = "temperature", "cell:model:experiment" = "model:experiment")
term_names3 <- c(term_names, "cell:seed" = "seed", "cell:model:method" = "model:method",
                 "cell:model:precision" = "model:precision")
control <- lmerControl(optimizer = "bobyqa", optCtrl = list(rhoend = 1e-12, maxfun = 1e6),
                       check.conv.singular = "ignore")

standardise <- function(d) {
  d$y <- NA_real_
  for (f in unique(d$file)) {
    i <- d$file == f
    r <- rank(d$value[i])            # average ranks for ties, as scipy.stats.rankdata
    r <- r - mean(r)
    d$y[i] <- r / sqrt(mean(r^2))    # population standard deviation
  }
  d
}

rows <- list()
add <- function(fixture, fit_name, term, value) {
  rows[[length(rows) + 1]] <<- data.frame(fixture = fixture, fit = fit_name, term = term, value = value)
}
record <- function(fixture, fit_name, fit) {
  vc <- as.data.frame(VarCorr(fit))
  for (i in seq_len(nrow(vc))) {
    grp <- vc$grp[i]
    add(fixture, fit_name, if (grp == "Residual") "residual" else term_names3[[grp]], vc$vcov[i])
  }
  add(fixture, fit_name, "logLik", as.numeric(logLik(fit)))
  add(fixture, fit_name, "isSingular", as.numeric(isSingular(fit, tol = 1e-4)))
  add(fixture, fit_name, "intercept", unname(fixef(fit)[1]))
}

for (fixture in c("fixture1", "fixture2")) {
  d <- read.csv(file.path(here, paste0("decomposition_", fixture, ".csv")), stringsAsFactors = TRUE)
  d <- standardise(d)
  reml <- lmer(full_formula, data = d, REML = TRUE, control = control)
  record(fixture, "REML", reml)
  ml <- lmer(full_formula, data = d, REML = FALSE, control = control)
  record(fixture, "ML", ml)
  for (dropped in c("cell:experiment", "cell:model:experiment", "cell:precision")) {
    keep <- setdiff(names(term_names), dropped)
    terms <- ifelse(keep == "cell:temperature", "(0 + generation | cell:temperature)", paste0("(1 | ", keep, ")"))
    reduced <- lmer(as.formula(paste("y ~ 1 +", paste(terms, collapse = " + "))), data = d, REML = TRUE,
                    control = control)
    record(fixture, paste0("REML_without_", term_names[[dropped]]), reduced)
  }
}
d <- standardise(read.csv(file.path(here, "decomposition_fixture3.csv"), stringsAsFactors = TRUE))
record("fixture3", "REML", lmer(formula3, data = d, REML = TRUE, control = control))
record("fixture3", "ML", lmer(formula3, data = d, REML = FALSE, control = control))
out <- do.call(rbind, rows)
write.csv(out, file.path(here, "decomposition_lme4.csv"), row.names = FALSE)
cat(sprintf("wrote %d values to %s\n", nrow(out), file.path(here, "decomposition_lme4.csv")))
