#!/usr/bin/env bash
# Performance regression gate: each case's time as a ratio to revm's, measured in the same run
# (so machine speed and load mostly cancel), against the committed baseline
# `ci/perf-baseline.json`. Fails when any case's ratio grows by more than the threshold.
#
#   ci/perf-gate.sh              measure and compare (exit 1 on a regression)
#   ci/perf-gate.sh --update     measure and write the baseline (commit it with the change
#                                that moved it, and say why in the commit message)
#   PERF_GATE_JSON=FILE          use a `dtvm bench --json` result instead of measuring (it must
#                                hold the gated modes and revm)
#   PERF_GATE_THRESHOLD=0.25     allowed growth of a ratio (default: see docs/bench-results.md
#                                for the run-to-run spread this is set from)
#   PERF_GATE_MODES=interpreter,multipass   dtvm modes gated (revm is always run, as reference)
#
# A ratio moves with revm's speed too: on dispatch-bound micro cases revm's code placement alone
# has moved ratios by 15-20% between builds (docs/bench-results.md); before calling a flagged
# case a regression, compare dtvm's absolute times or callgrind counts of both builds.
#
# Not part of ci/test.sh: a meaningful run takes ~5 minutes on 2 cores and wants a quiet machine.
# Run it before merging an engine change.
set -euo pipefail
cd "$(dirname "$0")/.."

update=false
if [ "${1:-}" = "--update" ]; then
    update=true
fi
threshold="${PERF_GATE_THRESHOLD:-0.25}"
modes="${PERF_GATE_MODES:-interpreter,multipass}"
baseline=ci/perf-baseline.json
out=target/perf-gate.json

if [ -n "${PERF_GATE_JSON:-}" ]; then
    out="$PERF_GATE_JSON"
else
    cargo build --profile perf -p dtvm-cli
    ./target/perf/dtvm bench --mode "$modes,revm" --filter '^(main|micro)/' --time 0.3 --json "$out"
fi

python3 - "$out" "$baseline" "$threshold" "$update" "$modes" <<'EOF'
import json, sys

out, baseline_path, threshold, update = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4] == "true"
gated = set(sys.argv[5].split(","))
run = json.load(open(out))
errors = sum(p["errors"] if isinstance(p["errors"], int) else len(p["errors"]) for p in run["passes"])
if errors:
    sys.exit(f"perf-gate: the bench reported {errors} errors (engines disagreed)")

# Per case and dtvm mode: median time / revm's median time in the same run.
ratios = {}
for case in (c for p in run["passes"] for c in p["cases"]):
    engines = case["engines"]
    reference = engines.get("revm", {}).get("median_us")
    if not reference:
        continue
    for mode, e in engines.items():
        if mode in gated and e.get("median_us"):
            ratios.setdefault(case["name"], {})[mode] = e["median_us"] / reference

if update:
    json.dump({"ratios": ratios, "date": run["date"], "machine": run["machine"], "args": run["args"]},
              open(baseline_path, "w"), indent=1, sort_keys=True)
    print(f"perf-gate: wrote {baseline_path} ({len(ratios)} cases)")
    sys.exit(0)

base = json.load(open(baseline_path))["ratios"]
worse, checked = [], 0
for name, modes in sorted(base.items()):
    for mode, was in sorted(modes.items()):
        now = ratios.get(name, {}).get(mode)
        if now is None:
            continue
        checked += 1
        growth = now / was - 1
        flag = "REGRESSION" if growth > threshold else ""
        print(f"{name:50} {mode:12} {was:8.3f} -> {now:8.3f} ({growth:+6.1%}) {flag}")
        if flag:
            worse.append((name, mode, growth))
print(f"perf-gate: {checked} ratios checked, {len(worse)} above +{threshold:.0%}")
sys.exit(1 if worse else 0)
EOF
