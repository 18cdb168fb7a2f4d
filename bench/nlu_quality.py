"""NLU quality: 5-fold cross-validated intent and entity F1 of the production pipeline.

Then ``rasa test core`` runs training_data/tests/test_stories.yml against the
trained model (RAPPORT_MODEL, else var/models/current.tar.gz).

Runs ``rasa test nlu --cross-validation`` on training_data/nlu with
bot/config.yml (each fold trains a fresh NLU model on 4/5 of the examples and
tests on the other 1/5), then writes bench/results/nlu_quality.json (macro
and weighted F1, precision and recall per intent and entity, out_of_scope
recall, the most frequent confusions, the 40 errors made with the highest
confidence; every error, worst first, in bench/results/nlu_intent_errors.json) and
copies Rasa's confusion matrix to bench/results/nlu_intent_confusion.png.
Runs in the bot's venv:

    .venv-bot/bin/python bench/nlu_quality.py [--folds 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench import report  # noqa: E402


def per_label(rep: dict[str, Any]) -> dict[str, Any]:
    return {
        k: {
            "f1": round(v["f1-score"], 3),
            "precision": round(v["precision"], 3),
            "recall": round(v["recall"], 3),
            "support": v["support"],
            "confused_with": v.get("confused_with", {}),
        }
        for k, v in sorted(rep.items())
        if isinstance(v, dict) and "support" in v and "avg" not in k
    }


def test_stories(tmp: Path) -> dict[str, Any]:
    """``rasa test core`` on training_data/tests with the trained model."""
    model = os.environ.get("RAPPORT_MODEL") or str(ROOT / "var/models/current.tar.gz")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "rasa",
            "test",
            "core",
            "--model",
            model,
            "--stories",
            str(ROOT / "training_data/tests/test_stories.yml"),
            "--out",
            str(tmp / "core"),
        ],
        cwd=ROOT / "bot",
        check=True,
        stdout=subprocess.DEVNULL,
        env=dict(os.environ, RASA_TELEMETRY_ENABLED="false"),
    )
    stories = json.loads((tmp / "core" / "story_report.json").read_text())
    failed = (tmp / "core" / "failed_test_stories.yml").read_text()
    return {
        "model": Path(model).resolve().name,
        "action_accuracy": round(stories["accuracy"], 3),
        "action_macro_f1": round(stories["macro avg"]["f1-score"], 3),
        "failed_stories": failed.count("- story:"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument(
        "--config", default="config.yml", help="pipeline to test, relative to bot/ (a trial one)"
    )
    parser.add_argument(
        "--name",
        default="nlu_quality",
        help="results name; a trial run writes bench/results/<name>.json and skips the copies",
    )
    parser.add_argument("--no-stories", action="store_true", help="skip rasa test core")
    args = parser.parse_args()
    trial = args.name != "nlu_quality"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results"
        started = time.perf_counter()
        subprocess.run(
            [
                sys.executable,
                "-m",
                "rasa",
                "test",
                "nlu",
                "--nlu",
                str(ROOT / "training_data/nlu"),
                "--config",
                args.config,
                "--domain",
                "domain.yml",
                "--cross-validation",
                "--folds",
                str(args.folds),
                "--out",
                str(out),
            ],
            cwd=ROOT / "bot",
            check=True,
            stdout=subprocess.DEVNULL,
            env=dict(os.environ, RASA_TELEMETRY_ENABLED="false"),
        )
        seconds = time.perf_counter() - started
        intents = json.loads((out / "intent_report.json").read_text())
        entities = json.loads((out / "DIETClassifier_report.json").read_text())
        results = {
            "intent_macro_f1": round(intents["macro avg"]["f1-score"], 3),
            "intent_weighted_f1": round(intents["weighted avg"]["f1-score"], 3),
            "intent_accuracy": round(intents["accuracy"], 3),
            "entity_micro_f1": round(entities["micro avg"]["f1-score"], 3),
            "entity_macro_f1": round(entities["macro avg"]["f1-score"], 3),
            "intents": per_label(intents),
            "entities": per_label(entities),
            "seconds": round(seconds, 1),
        }
        errors = json.loads((out / "intent_errors.json").read_text())
        # Worst first: the errors the model was most confident about.
        ranked = sorted(
            (
                {
                    "text": e["text"],
                    "intent": e["intent"],
                    "predicted": e["intent_prediction"]["name"],
                    "confidence": round(e["intent_prediction"]["confidence"], 3),
                }
                for e in errors
            ),
            key=lambda e: -e["confidence"],
        )
        results["intent_errors"] = len(ranked)
        results["intent_errors_worst"] = ranked[:40]
        pairs = Counter((e["intent"], e["predicted"]) for e in ranked)
        results["confusions"] = [
            {"intent": a, "predicted": b, "count": n} for (a, b), n in pairs.most_common(25)
        ]
        results["out_of_scope_recall"] = results["intents"]["out_of_scope"]["recall"]
        report.RESULTS.mkdir(parents=True, exist_ok=True)
        if not trial:
            errors_file = report.RESULTS / "nlu_intent_errors.json"
            errors_file.write_text(json.dumps(ranked, indent=1) + "\n")
        if not args.no_stories:
            results["test_stories"] = test_stories(Path(tmp))
        if not trial:
            shutil.copy(
                out / "intent_confusion_matrix.png", report.RESULTS / "nlu_intent_confusion.png"
            )
    print(
        f"intent macro-F1 {results['intent_macro_f1']}, out_of_scope recall "
        f"{results['out_of_scope_recall']}, entity micro-F1 "
        f"{results['entity_micro_f1']} (macro {results['entity_macro_f1']}), "
        f"{args.folds}-fold CV in {results['seconds']} s"
    )
    if "test_stories" in results:
        stories = results["test_stories"]
        print(
            f"test stories: {stories['failed_stories']} failed, "
            f"action accuracy {stories['action_accuracy']}"
        )
    report.write(
        args.name,
        {"folds": args.folds, "config": f"bot/{args.config}", "data": "training_data/nlu"},
        results,
    )


if __name__ == "__main__":
    main()
