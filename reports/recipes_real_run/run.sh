#!/usr/bin/env bash
# The contrastive recipes on the offline models (issue 16): all-MiniLM-L6-v2 read with the study's recipe
# (fp32), repeng's and steering-vectors'; the audit of the repeng file against the study file re-makes
# both recipes on the reference model (SmolLM2-135M-Instruct, `default`); decompose over the three
# MiniLM files and the two reference extractions plus a steering-vectors run on the default model.
# Run from the repository root: bash reports/recipes_real_run/run.sh WORKDIR  (outputs land beside this script)
set -euo pipefail
work=${1:-/tmp/recipes_real_run}
here=$(dirname "$0")
mkdir -p "$work"
emotions=happy,sad,calm,desperate,afraid,angry,proud,guilty,nervous,hopeful,gloomy,neutral
common=(--emotions "$emotions" --limit 6 --layers last --precision fp32 --threads 1 --overwrite)
t0=$(date +%s)
rsastats extract --model minilm --recipe study "${common[@]}" --baseline none --out "$work/minilm_study.nc" --json > "$work/e1.json"
rsastats extract --model minilm --recipe repeng "${common[@]}" --out "$work/minilm_repeng.nc" --json > "$work/e2.json"
rsastats extract --model minilm --recipe steering-vectors "${common[@]}" --out "$work/minilm_steering.nc" --json > "$work/e3.json"
rsastats extract --model default --recipe steering-vectors "${common[@]}" --out "$work/smollm2_steering.nc" --json > "$work/e4.json"
t1=$(date +%s)
rsastats audit "$work/minilm_study.nc" "$work/minilm_repeng.nc" --reference-model default --reference-dir "$work/refs" --limit 6 \
    --n-boot 2000 --seed 0 --json > "$here/audit_study_vs_repeng.json"
t2=$(date +%s)
COLUMNS=130 rsastats audit "$work/minilm_study.nc" "$work/minilm_repeng.nc" --reference-model default \
    --reference-dir "$work/refs" --limit 6 --n-boot 2000 --seed 0 > "$here/audit_study_vs_repeng.txt"
refs=$(ls "$work"/refs/*.nc)
rsastats decompose "$work/minilm_study.nc" "$work/minilm_repeng.nc" "$work/minilm_steering.nc" \
    "$work/smollm2_steering.nc" $refs --n-boot 200 --seed 0 --json > "$here/decompose.json"
COLUMNS=130 rsastats decompose "$work/minilm_study.nc" "$work/minilm_repeng.nc" "$work/minilm_steering.nc" \
    "$work/smollm2_steering.nc" $refs --n-boot 200 --seed 0 > "$here/decompose.txt"
echo "extractions $((t1 - t0)) s; audit $((t2 - t1)) s (its two reference extractions made, or reused when WORKDIR/refs holds them)" > "$here/timing.txt"
