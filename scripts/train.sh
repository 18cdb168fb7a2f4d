#!/usr/bin/env bash
# Train the Rasa model only when its inputs changed. The model is cached under
# var/models/<hash>.tar.gz, keyed by a hash of the NLU/rules/stories, domain,
# config and the bot's locked package versions; prints the model path.
# (Actions are not an input of the model: they run in the action server, so
# changing them needs no retraining.)
set -euo pipefail
cd "$(dirname "$0")/.."
inputs=(bot/config.yml bot/domain.yml bot/requirements.lock bot/model-packages.lock)
# The bot's own NLU components are part of the model.
while IFS= read -r f; do inputs+=("$f"); done < <(find bot/nlu -type f -name '*.py' | LC_ALL=C sort)
while IFS= read -r f; do inputs+=("$f"); done < <(find training_data/nlu training_data/rules training_data/stories -type f -name '*.yml' | LC_ALL=C sort)
hash=$(for f in "${inputs[@]}"; do echo "== $f"; cat "$f"; done | sha256sum | cut -c1-16)
model="var/models/rapport-$hash.tar.gz"
if [ -f "$model" ]; then
  echo "model up to date: $model" >&2
else
  mkdir -p var/models
  echo "training model $hash (inputs changed or no cached model)..." >&2
  start=$(date +%s)
  (cd bot && RASA_TELEMETRY_ENABLED=false ../.venv-bot/bin/python -m rasa train \
      --data ../training_data/nlu ../training_data/rules ../training_data/stories \
      --config config.yml --domain domain.yml --out ../var/models \
      --fixed-model-name "rapport-$hash" >&2)
  echo "trained in $(( $(date +%s) - start )) s: $model" >&2
fi
ln -sf "rapport-$hash.tar.gz" var/models/current.tar.gz
echo "$model"
