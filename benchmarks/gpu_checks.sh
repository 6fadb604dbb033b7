#!/usr/bin/env bash
# One GPU session's checks, run from the repository root on a machine with a CUDA jax installed:
#   benchmarks/gpu_checks.sh OUTDIR [SECONDS]
# 1. smoke (unless SMOKE=0): gnc_jax imports and solves on the GPU (stops here if not);
# 2. in parallel, each under its own time limit (SECONDS bounds the longest, default 420), the parts named
#    in $PARTS (default "records faces tests"):
#    - d = 3 Tammes records (benchmarks/tammes_records.py) split over $WORKERS GPU processes (default 1:
#      on an H200, 8 processes sharing the GPU did no more search rounds per second than one; RESULTS.md),
#      N = $RECORDS_N (default 41:130), $LOCKSTEP N per batched search (default 1), extra search options
#      $RECORDS_ARGS (e.g. "--restarts 64 --hops 448 --seed 1"), each row appended to OUTDIR/rows_I.jsonl
#      as it finishes;
#    - the faces setting d = 512, K = 10,000 (benchmarks/certified_margins.py), short then long search;
#    - the GPU test subset (manifolds, objectives, solvers, metrics, refinement), then grid_throughput;
#    - "peers" (not in the default): benchmarks/peers.py's default cases with gnc-jax's solvers, and Pymanopt's where
#      it is installed there (skipped with a note otherwise), so gnc-jax's GPU rows sit beside the CPU ones;
#    - "nets" (not in the default): tests/test_nets.py and benchmarks/nets_vs_model.py (flax MLPs trained on the GPU
#      against the feature model);
# 3. merges the record rows into OUTDIR/tammes_records_gpu.json and packs every log into OUTDIR/gpu_checks.tar.gz.
# The processes share the GPU, so every timing here is measured under that contention.
set -u
OUT_DIR=${1:?usage: benchmarks/gpu_checks.sh OUTDIR [SECONDS]}
LIMIT=${2:-420}
WORKERS=${WORKERS:-1}
RECORDS_N=${RECORDS_N:-41:130}
LOCKSTEP=${LOCKSTEP:-1}
RECORDS_ARGS=${RECORDS_ARGS:-}
PARTS=${PARTS:-records faces tests}
PY=${PYTHON:-python3}
mkdir -p "$OUT_DIR"
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH} PYTHONUNBUFFERED=1 XLA_PYTHON_CLIENT_PREALLOCATE=false
export JAX_COMPILATION_CACHE_DIR=${JAX_COMPILATION_CACHE_DIR:-/tmp/gnc_jax_cache}
LABEL=$(nvidia-smi --query-gpu=name --format=csv,noheader 2>/dev/null | head -1)
LABEL=${LABEL:-unknown GPU}
date -u +"start %F %T UTC"; nvidia-smi -L 2>/dev/null

[ "${SMOKE:-1}" = 1 ] && { timeout 120 "$PY" - <<'EOF' || { echo "smoke test failed"; exit 3; }; }
import jax, gnc_jax
print("jax", jax.__version__, jax.devices())
import os; assert os.environ.get("GNC_ALLOW_CPU") or jax.default_backend() == "gpu", jax.default_backend()
r = gnc_jax.solve("tammes", 12, 3, restarts=4)
print(r.summary() if hasattr(r, "summary") else r)
assert abs(r.min_angle_deg - 63.4349488) < 0.5, r.min_angle_deg
EOF

t0=$(date +%s)
cd benchmarks
[[ " $PARTS " == *" records "* ]] && for i in $(seq 0 $((WORKERS - 1))); do
  timeout "$LIMIT" "$PY" tammes_records.py --N "$RECORDS_N" --shard "$i/$WORKERS" --lockstep "$LOCKSTEP" $RECORDS_ARGS \
    --rows-out "$OUT_DIR/rows_$i.jsonl" --device-label "$LABEL" --out "$OUT_DIR/records_shard_$i.json" \
    >"$OUT_DIR/records_$i.log" 2>&1 &
done
[[ " $PARTS " == *" faces "* ]] && ( timeout 120 "$PY" certified_margins.py --settings 512x10000 --restarts 1 --max-steps 100 --device-label "$LABEL" \
    --out "$OUT_DIR/faces_steps100.json"
  left=$((LIMIT - ($(date +%s) - t0) - 5))
  [ "$left" -gt 30 ] && timeout "$left" "$PY" certified_margins.py --settings 512x10000 --restarts 1 --max-steps 1000 \
    --device-label "$LABEL" --out "$OUT_DIR/faces_steps1000.json" ) >"$OUT_DIR/faces.log" 2>&1 &
[[ " $PARTS " == *" tests "* ]] && ( cd .. && timeout 300 "$PY" -m pytest -q -p no:cacheprovider tests/test_manifolds.py tests/test_objectives.py \
    tests/test_solvers.py tests/test_trust_region.py tests/test_metrics.py tests/test_refine_records.py
  left=$((LIMIT - ($(date +%s) - t0) - 5))
  [ "$left" -gt 30 ] && timeout "$left" "$PY" benchmarks/grid_throughput.py --C 4:11 --d 2,3,4 --seeds 12 \
    --device-label "$LABEL" --out "$OUT_DIR/grid_throughput_gpu.json" ) >"$OUT_DIR/tests_grid.log" 2>&1 &
[[ " $PARTS " == *" peers "* ]] && timeout "$LIMIT" "$PY" peers.py --solvers gnc-lbfgs,gnc-cg,gnc-tr,gnc-lbfgs+refine,pymanopt-cg \
    --device-label "$LABEL" --out "$OUT_DIR/peers_gpu" >"$OUT_DIR/peers.log" 2>&1 &
[[ " $PARTS " == *" nets "* ]] && ( cd .. && timeout 300 "$PY" -m pytest -q -p no:cacheprovider tests/test_nets.py
  left=$((LIMIT - ($(date +%s) - t0) - 5))
  [ "$left" -gt 30 ] && cd benchmarks && timeout "$left" "$PY" nets_vs_model.py --out "$OUT_DIR/nets_vs_model_gpu" ) \
    >"$OUT_DIR/nets.log" 2>&1 &
wait
echo "parallel phase: $(( $(date +%s) - t0 )) s"
files=$(ls "$OUT_DIR"/rows_*.jsonl 2>/dev/null | paste -sd, -)
[ -n "$files" ] && "$PY" tammes_records.py --merge "$files" --device-label "$LABEL" --out "$OUT_DIR/tammes_records_gpu.json"
tail -n 3 "$OUT_DIR"/*.log
tar czf /tmp/gpu_checks.tar.gz -C "$OUT_DIR" . && mv /tmp/gpu_checks.tar.gz "$OUT_DIR/" && ls -la "$OUT_DIR"
date -u +"end %F %T UTC"
