"""The trained model on phrasings a new visitor uses that the training data does
not hold (each is checked to be absent from training_data/nlu): short "do you
sell X?" questions, postage and courier questions, attribute searches.

Needs the model `make test` trained (RAPPORT_MODEL); it is loaded once.
"""

from __future__ import annotations

import asyncio
import os
import re
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]

# (text, intent, entities expected among the extracted ones)
PHRASINGS = [
    (
        "is it possible to buy sleeping bags from you",
        "find_product",
        {"product_category": "sleeping_bags"},
    ),
    ("do u sell tents", "find_product", {"product_category": "tents"}),
    ("do you guys sell backpacks", "find_product", {"product_category": "backpacks"}),
    ("sell any jackets?", "find_product", {"product_category": "jackets"}),
    ("a waterproof jacket under $180", "find_product", {"product_category": "jackets"}),
    ("looking for an ultralight tent for two", "find_product", {"product_category": "tents"}),
    ("what's the postage to Ireland", "ask_shipping", {}),
    ("how much is postage on a tent", "ask_shipping", {}),
    ("which courier delivers my parcel", "ask_shipping", {}),
    ("do you send stuff with DPD", "ask_shipping", {}),
    ("can I send the boots back", "ask_returns", {}),
    ("where's my order TR-10077", "ask_order_status", {"order_id": "TR-10077"}),
    ("hello hello, anyone home?", "greet", {}),
    ("thanks a million", "thank", {}),
    ("can I speak with a real human", "request_human", {}),
    ("what's the capital of spain", "out_of_scope", {}),
]


def training_texts() -> set[str]:
    texts = set()
    for path in (ROOT / "training_data" / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text()).get("nlu", []):
            for line in (block.get("examples") or "").splitlines():
                example = line.strip()[2:]
                texts.add(re.sub(r"\[([^\]]+)\]\([^)]+\)", r"\1", example).lower().strip(" ?!."))
    return texts


@pytest.fixture(scope="module")
def agent():
    model = os.environ.get("RAPPORT_MODEL")
    assert model, "set RAPPORT_MODEL to the trained model (make test does)"
    import warnings

    from rasa.core.agent import Agent

    import speedups

    speedups.apply()  # loaded as launch_rasa.py loads it
    with warnings.catch_warnings():  # Rasa 3.6 warns about slot auto-fill on every load
        warnings.simplefilter("ignore")
        return Agent.load(model)


def test_the_phrasings_are_not_in_the_training_data() -> None:
    known = training_texts()
    assert [t for t, _, _ in PHRASINGS if t.lower().strip(" ?!.") in known] == []


@pytest.mark.parametrize(("text", "intent", "entities"), PHRASINGS)
def test_unseen_phrasing_is_understood(agent, text: str, intent: str, entities: dict) -> None:
    parsed = asyncio.run(agent.parse_message(text))
    assert parsed["intent"]["name"] == intent, (
        text,
        parsed["intent"],
        parsed["intent_ranking"][:3],
    )
    found = {e["entity"]: e["value"] for e in parsed["entities"]}
    for name, value in entities.items():
        assert found.get(name) == value, (text, parsed["entities"])
