"""Domain/actions/training-data consistency (the intent and entity names are a contract)."""

import importlib
import inspect
import pkgutil

import yaml
from rasa_sdk import Action

import actions
from conftest import BOT_DIR

CONTRACT_INTENTS = [
    "greet",
    "goodbye",
    "affirm",
    "deny",
    "thank",
    "bot_challenge",
    "request_human",
    "find_product",
    "ask_price",
    "ask_shipping",
    "ask_returns",
    "ask_order_status",
    "ask_promotions",
    "subscribe_newsletter",
    "inform",
    "complain",
    "out_of_scope",
    "request_forget",
]
CONTRACT_ENTITIES = ["product_category", "color", "size", "budget", "order_id", "email", "name"]
# Triggered by the chat server only (trigger_intent), never said by a visitor;
# their entities come with the trigger.
EXTERNAL_INTENTS = ["campaign_opener"]
EXTERNAL_ENTITIES = ["campaign", "campaign_variant", "campaign_content"]
TRAINING = BOT_DIR.parent / "training_data"


def domain():
    return yaml.safe_load((BOT_DIR / "domain.yml").read_text())


def implemented_actions():
    names = set()
    for info in pkgutil.iter_modules(actions.__path__):
        module = importlib.import_module(f"actions.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Action) and cls.__module__ == module.__name__:
                names.add(cls().name())
    return names


def intent_names(d):
    return [i if isinstance(i, str) else next(iter(i)) for i in d["intents"]]


def test_intents_and_entities_match_the_contract():
    d = domain()
    assert intent_names(d) == CONTRACT_INTENTS + EXTERNAL_INTENTS
    assert d["entities"] == CONTRACT_ENTITIES + EXTERNAL_ENTITIES


def test_the_campaign_opener_is_the_same_state_whatever_its_content():
    """Its entities fill slots but are not dialogue features, and its slots never
    steer the policies (only the rules in rules_campaigns.yml do)."""
    d = domain()
    config = next(i for i in d["intents"] if isinstance(i, dict) and "campaign_opener" in i)
    assert config["campaign_opener"]["use_entities"] == []
    for slot in EXTERNAL_ENTITIES:
        assert d["slots"][slot]["influence_conversation"] is False
        assert d["slots"][slot]["mappings"] == [
            {"type": "from_entity", "entity": slot, "intent": "campaign_opener"}
        ]


def test_every_domain_action_is_implemented():
    names = {a if isinstance(a, str) else next(iter(a)) for a in domain()["actions"]}
    assert names == implemented_actions()


def test_only_actions_that_read_the_domain_are_sent_it():
    """endpoints.yml enables selective domain: the 16 KB domain goes only to
    actions marked send_domain (and validate_* forms), not on every call."""
    import yaml

    endpoints = yaml.safe_load((BOT_DIR / "endpoints.yml").read_text())
    assert endpoints["action_endpoint"]["enable_selective_domain"] is True
    marked = {
        next(iter(a))
        for a in domain()["actions"]
        if isinstance(a, dict) and next(iter(a.values())).get("send_domain")
    }
    assert marked == {"action_validate_slot_mappings"}


def test_session_config_and_memory_slots():
    d = domain()
    assert d["session_config"] == {
        "session_expiration_time": 60,
        "carry_over_slots_to_new_session": True,
    }
    for slot in [
        "name",
        "email",
        "budget",
        "product_category",
        "color",
        "size",
        "marketing_consent",
        "consent_at",
        "interests",
        "last_topic",
    ]:
        assert slot in d["slots"], slot
    assert d["slots"]["budget"]["type"] == "float"
    assert d["slots"]["interests"]["type"] == "list"


def test_policies_have_bounded_history():
    config = yaml.safe_load((BOT_DIR / "config.yml").read_text())
    names = [p["name"] for p in config["policies"]]
    assert "UnexpecTEDIntentPolicy" not in names
    for p in config["policies"]:
        if p["name"] in ("MemoizationPolicy", "TEDPolicy"):
            assert 1 <= p["max_history"] <= 5


def test_enough_examples_per_intent():
    counts = {}
    for path in (TRAINING / "nlu").glob("*.yml"):
        for block in yaml.safe_load(path.read_text())["nlu"]:
            if "intent" in block:
                lines = [ln for ln in block["examples"].splitlines() if ln.strip().startswith("- ")]
                counts[block["intent"]] = counts.get(block["intent"], 0) + len(lines)
    assert set(counts) == set(CONTRACT_INTENTS)
    assert min(counts.values()) >= 25, counts


def test_credentials_enable_rest_and_rapport_connector():
    text = (BOT_DIR / "credentials.yml").read_text()
    creds = yaml.safe_load(text)
    assert "rest" in creds
    assert "connectors.rapport_rest.RapportRestInput" in creds
