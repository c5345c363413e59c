"""The audits score a text from the rows of its features (policies.audit_model._Vocabulary); the
builder trains on `features`. Both must see the same features, or run time drifts from training."""

from __future__ import annotations

from policies.audit_model import features
from policies.text_audits import load_audit_config
from tests.unit.corpus_tickets import load_corpus


def test_the_rows_scored_are_the_trained_features_of_every_corpus_text() -> None:
    cfg = load_audit_config()
    assert cfg.model is not None
    vocabulary = cfg.model.learned().heads["priority"].vocabulary
    texts = [e.body() for e in load_corpus()]
    texts += [t.split("\n")[-1] for t in texts]  # single lines too (as evidence fragments are scored)
    for text in texts:
        expected = sorted(vocabulary.index[f] for f in features(text) if f in vocabulary.index)
        assert list(vocabulary.text_rows(text)) == expected, text


def test_a_score_is_the_bias_plus_the_weights_of_the_texts_features() -> None:
    cfg = load_audit_config()
    assert cfg.model is not None
    head = cfg.model.learned().heads["complaint"]
    text = "Третий день тишина, когда будет ответ?"
    weights = [head.weights[f][0] for f in features(text) if f in head.weights]
    assert weights  # the text has features the head weighs
    assert abs(head.raw(text)[0] - (head.bias[0] + sum(weights))) < 1e-9
