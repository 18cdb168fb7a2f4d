#!/usr/bin/env bash
# Intent/entity evaluation of the NLU model on a held-out split.
# Not run by the tests (it trains a model: ~1–2 min on 2 cores).
#
#   bot/scripts/eval_nlu.sh [OUT_DIR]     (default /tmp/rapport-nlu-eval)
#
# Splits training_data/nlu 80/20 (stratified by intent, fixed seed), trains an
# NLU-only model on the 80 %, tests it on the 20 % and prints macro/weighted F1.
set -euo pipefail

HERE="$(cd "$(dirname "$0")/.." && pwd)"          # bot/
ROOT="$(cd "$HERE/.." && pwd)"
PY="${RASA_PYTHON:-$ROOT/.venv-bot/bin/python}"
OUT="${1:-/tmp/rapport-nlu-eval}"

rm -rf "$OUT" && mkdir -p "$OUT"
cd "$HERE"
"$PY" -m rasa data split nlu --nlu "$ROOT/training_data/nlu" \
    --training-fraction 0.8 --random-seed 42 --out "$OUT/split" >/dev/null

start=$(date +%s)
"$PY" -m rasa train nlu --nlu "$OUT/split/training_data.yml" --config config.yml \
    --domain domain.yml --out "$OUT/models" --fixed-model-name nlu-eval >"$OUT/train.log" 2>&1
echo "NLU training time: $(( $(date +%s) - start )) s"

"$PY" -m rasa test nlu --nlu "$OUT/split/test_data.yml" \
    --model "$OUT/models/nlu-eval.tar.gz" --out "$OUT/results" >"$OUT/test.log" 2>&1

"$PY" - "$OUT/results/intent_report.json" <<'PYEOF'
import json, sys
report = json.load(open(sys.argv[1]))
print(f"intent macro-F1:    {report['macro avg']['f1-score']:.3f}")
print(f"intent weighted-F1: {report['weighted avg']['f1-score']:.3f}")
print(f"intent accuracy:    {report['accuracy']:.3f}")
worst = sorted((v['f1-score'], k) for k, v in report.items() if isinstance(v, dict) and 'support' in v and k not in ('macro avg', 'weighted avg', 'micro avg'))[:5]
print("lowest intents:", ", ".join(f"{k}={f:.2f}" for f, k in worst))
PYEOF
echo "full reports: $OUT/results"
