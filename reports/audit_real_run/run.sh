#!/usr/bin/env bash
# The real run of docs/audit.md ("The real run: two recipes on the default model"): the study's recipe
# against a Jeong-like generation recipe, both on SmolLM2-135M-Instruct, audited with the same model as
# reference (2 runs of the sampled recipe). Run from the repository root:
#   bash reports/audit_real_run/run.sh WORKDIR      (outputs land beside this script; WORKDIR keeps the .nc files)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
work=${1:-/tmp/audit_real_run}
mkdir -p "$work" && cd "$work"
t0=$(date +%s)
rsastats extract --recipe study --limit 6 --layers last --baseline none --threads 1 --experiment study --out study.nc --overwrite
t1=$(date +%s)
rsastats extract --recipe jeong-generation --samples 6 --layers last --baseline none --threads 1 --experiment jeong \
    --out jeong.nc --overwrite
t2=$(date +%s)
# Each output is written beside its final name and moved into place whole: a failed or running rerun
# leaves the committed files as they were.
rsastats audit study.nc jeong.nc --reference-model default --reference-dir refs --reference-runs 2 --threads 1 --json \
    > "$here/study_vs_jeong.json.part"
mv "$here/study_vs_jeong.json.part" "$here/study_vs_jeong.json"
t3=$(date +%s)
COLUMNS=120 rsastats audit study.nc jeong.nc --reference-model default --reference-dir refs --reference-runs 2 \
    --threads 1 > "$here/study_vs_jeong.txt.part"
mv "$here/study_vs_jeong.txt.part" "$here/study_vs_jeong.txt"
rsastats audit study.nc jeong.nc --reference-model default --reference-dir refs --reference-runs 2 --threads 1 \
    --ci percentile --bootstrap both --json > "$here/study_vs_jeong_percentile_both.json.part"
mv "$here/study_vs_jeong_percentile_both.json.part" "$here/study_vs_jeong_percentile_both.json"
t4=$(date +%s)
echo "study recipe $((t1 - t0)) s; generation recipe $((t2 - t1)) s; audit with its reference extractions $((t3 - t2)) s;" \
     "the two repeats from the cache $((t4 - t3)) s" > "$here/timing.txt"
