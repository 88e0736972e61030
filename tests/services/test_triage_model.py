"""The learned triage layer on small synthetic data: it learns the right direction, explains itself in words,
and its file round-trips or fails with one sentence. (How well it does on real tweets is the experiment's job:
benchmarks/triage_learn_experiment.py.)"""

from __future__ import annotations

import json
import math
import random
from pathlib import Path

import pytest

from bot.services import triage_model
from bot.services.triage_model import LearnedModel, ModelFileError, features, fit

COMPLAINT = ["refund", "delayed", "lost", "broken", "cancelled", "rude"]
PRAISE = ["thanks", "great", "love", "awesome", "kudos", "wonderful"]
FILLER = ["the", "flight", "today", "crew", "my", "bag", "seat", "gate", "was", "and", "@united", "http://t.co/x1"]


def synthetic(n: int = 240, seed: int = 1) -> tuple[list[str], list[bool]]:
    """Posts that need a reply carry complaint words, the others praise; both share the filler."""
    rng = random.Random(seed)
    texts, labels = [], []
    for i in range(n):
        needs_reply = i % 2 == 0
        cue = rng.choice(COMPLAINT if needs_reply else PRAISE)
        words = rng.sample(FILLER, 4) + [cue]
        rng.shuffle(words)
        texts.append(" ".join(words))
        labels.append(needs_reply)
    return texts, labels


@pytest.fixture(scope="module")
def model() -> LearnedModel:
    texts, labels = synthetic()
    return fit(texts, labels, source="synthetic, 240 posts", date="2024-05-01")


def one_sentence_naming(error: ModelFileError, path: Path) -> bool:
    message = str(error)
    body = message[:-1]
    return str(path) in message and message.endswith(".") and "\n" not in message and ". " not in body


# ------------------------------------------------------------------------------------------- representation


def test_tokens_hide_handles_and_links_and_keep_question_and_exclamation_marks() -> None:
    assert triage_model.tokens("@United where's my REFUND?! http://t.co/abc flight 1234") == [
        "<user>",
        "where's",
        "my",
        "refund",
        "?",
        "!",
        "<url>",
        "flight",
        "<num>",
    ]
    keys = features("@united refund please")
    assert not any("united" in key for key in keys)
    assert "w:<user> refund" in keys and "c: ref" in keys


def test_features_are_scaled_so_a_long_post_does_not_score_louder() -> None:
    words_only = triage_model.FeatureSettings(word_ngrams=1, char_max=0, shape=False)
    short = features("refund", words_only)
    long = features("refund " * 9, words_only)
    assert short == {"w:refund": 1.0}
    assert long["w:refund"] == pytest.approx(3.0)  # nine occurrences / sqrt(nine grams): the length norm is sqrt


@pytest.mark.parametrize(
    "text",
    [
        "Flight 1234 delayed 3 hours!!! Still waiting for a refund?? http://t.co/x @united",
        "sooooo bad &amp; can\u2019t 'great' \U0001f621\U0001f621 dogs' __",
        "",
        "   ",
        "refund refund refund",
    ],
)
def test_fast_scoring_agrees_with_the_features_the_model_was_trained_on(model: LearnedModel, text: str) -> None:
    """probability() takes a cached shortcut; it must compute exactly the linear model over features()."""
    tables = {"w": model.words, "c": model.chars, "s": model.shape}
    expected = model.bias + sum(
        tables[name[0]].get(name[2:], 0.0) * value for name, value in features(text, model.settings).items()
    )
    assert model.logit(text) == pytest.approx(expected, abs=1e-9)
    assert model.logit(text) == model.logit(text)  # the per-text and per-chunk caches give the same answer


# ------------------------------------------------------------------------------------------- learning


def test_probabilities_order_unseen_posts_by_the_words_that_mean_a_reply_is_needed(model: LearnedModel) -> None:
    complaint = model.probability("my bag was lost and nobody called")
    praise = model.probability("love this crew, thanks a lot")
    neutral = model.probability("the gate")
    assert complaint > 0.7 > neutral > 0.3 > praise
    assert model.probability("the seat was broken") > model.probability("the seat was wonderful")
    assert 0.0 <= praise <= complaint <= 1.0


def test_evidence_names_the_words_that_pushed_towards_a_reply(model: LearnedModel) -> None:
    reasons = model.evidence("my refund was lost, thanks anyway")
    assert set(reasons[:2]) == {"'refund'", "'lost'"}
    assert "'thanks'" not in reasons  # it pushed the other way
    assert not set(model.evidence("thanks, great and wonderful crew")) & {f"'{word}'" for word in PRAISE}
    assert model.evidence("my refund was lost", limit=1) == [model.evidence("my refund was lost")[0]]
    assert model.evidence("my refund was lost", limit=0) == []


def test_evidence_only_ever_quotes_the_posts_own_words(model: LearnedModel) -> None:
    texts, _ = synthetic(60, seed=5)
    texts += ["Refunds?!! @united http://t.co/zz 12 hours", "sooooo brokennn", "\U0001f621 lost my bag"]
    known = {"a link", "a mention", *triage_model._SHAPE_LABELS.values(), "a short message"}
    for text in texts:
        words = " ".join(word.rstrip("'") for word in triage_model._raw_tokens(text))
        reasons = model.evidence(text, limit=5)
        assert len(reasons) == len(set(reasons))
        for label in reasons:
            assert label in known or (label.startswith("'") and label.endswith("'") and label[1:-1] in words), label
            assert not label.startswith("' ") and not label.endswith(" '")  # never a character n-gram's edge


def test_scores_do_not_depend_on_what_the_caches_hold(model: LearnedModel, monkeypatch: pytest.MonkeyPatch) -> None:
    texts, _ = synthetic(80, seed=9)
    expected = [(model.logit(t), model.evidence(t)) for t in texts]
    monkeypatch.setattr(triage_model, "_TOKEN_CACHE_LIMIT", 3)  # the caches are emptied again and again
    fresh = LearnedModel.from_json(model.to_json())
    assert [(fresh.logit(t), fresh.evidence(t)) for t in texts] == expected
    assert len(fresh._chunk_cache) <= 3 and len(fresh._token_cache) <= 3


def test_evidence_folds_character_ngrams_into_their_word_and_shows_each_once() -> None:
    only_chars = LearnedModel(
        bias=0.0,
        words={"refunded": -0.1, "please": 0.2, "still waiting": 2.0, "waiting": 0.5},
        chars={" ref": 1.0, "fund": 0.5, "ded ": 0.2, "plea": -1.0},
        shape={},
        extras={},
        extra_scales={},
    )
    reasons = only_chars.evidence("Refunded? Please, REFUNDED!! still waiting")
    assert reasons == ["'still waiting'", "'refunded'"]  # 'please' nets negative; no " ref", no repeats
    assert only_chars.evidence("still waiting, waiting") == [
        "'still waiting'"
    ]  # the word inside the phrase is not repeated


def test_evidence_quotes_the_customers_spelling_not_placeholders() -> None:
    numbers = LearnedModel(
        bias=0.0,
        words={"<num> hours": 3.0, "<user>": 1.0},
        chars={},
        shape={},
        extras={},
        extra_scales={},
        settings=triage_model.FeatureSettings(char_max=0),
    )
    assert numbers.evidence("@united 3 hours late") == ["'3 hours'", "a mention"]
    marks = LearnedModel(
        bias=0.0,
        words={"refund ?": 2.0, "! !": 1.0},
        chars={},
        shape={},
        extras={},
        extra_scales={},
        settings=triage_model.FeatureSettings(char_max=0),
    )
    assert marks.evidence("Refund? Now!!") == ["'refund?'", "'!!'"]


def test_evidence_names_post_level_cues_in_words() -> None:
    shaped = LearnedModel(
        bias=0.0,
        words={"bag": 0.5},
        chars={},
        shape={"question_end": 2.0, "length": -1.0},
        extras={},
        extra_scales={},
        settings=triage_model.FeatureSettings(char_max=0, shape=True),
    )
    assert shaped.evidence("where is my bag? @united", limit=2) == ["ends with a question", "a short message"]
    assert shaped.evidence("where is my bag") == ["a short message", "'bag'"]
    long_post = "where is my bag " * 8 + "?"
    assert shaped.evidence(long_post) == ["ends with a question", "'bag'"]  # long, and length counted against it
    assert shaped.probability(long_post) < shaped.probability("where is my bag?")


def test_evidence_names_extras_as_given_even_with_spaces_in_the_name() -> None:
    cued = LearnedModel(
        bias=0.0,
        words={"bag": 0.1},
        chars={},
        shape={},
        extras={"cue: still waiting": 1.0, "vader": -1.0},
        extra_scales={"cue: still waiting": 1.0, "vader": 0.9},
    )
    reasons = cued.evidence("my bag", {"cue: still waiting": 1.0, "vader": -0.5})
    assert reasons == ["cue: still waiting", "vader", "'bag'"]  # pushes of 1.0, 0.56 and 0.02


def test_extras_are_learned_in_their_direction_and_named_in_evidence() -> None:
    rng = random.Random(7)
    texts, labels, extras = [], [], []
    for i in range(200):
        needs_reply = i % 2 == 0
        texts.append(" ".join(rng.sample(FILLER, 5)))
        labels.append(needs_reply)
        extras.append({"vader": rng.uniform(-0.9, -0.1) if needs_reply else rng.uniform(0.1, 0.9)})
    model = fit(texts, labels, extras=extras)
    text = "the crew and my bag"
    assert model.probability(text, {"vader": -0.6}) > 0.8 > 0.2 > model.probability(text, {"vader": 0.6})
    assert model.evidence(text, {"vader": -0.6})[0] == "vader"
    assert "vader" not in model.evidence(text, {"vader": 0.6})
    # missing, unknown and broken extras score as "no information" rather than failing a live post
    plain = model.probability(text)
    shift = model.extras["vader"] * -0.6 / model.extra_scales["vader"]  # scaled by the largest |value| in training
    assert model.logit(text, {"vader": -0.6}) == pytest.approx(model.logit(text) + shift)
    assert model.probability(text, {"vader": math.nan, "other": 5.0}) == plain
    assert model.probability(text, {"vader": 1e9}) == model.probability(text, {"vader": 100.0})  # clipped


def test_sample_weights_change_what_is_learned() -> None:
    """The same post labelled both ways (annotators disagreed): the more trusted label should win."""
    texts = ["maybe"] * 40 + ["refund please", "thanks crew"] * 20
    labels = [True, False] * 40
    trust_reply = [3.0, 1.0] * 20 + [1.0] * 40
    trust_no_reply = [1.0, 3.0] * 20 + [1.0] * 40
    assert fit(texts, labels, sample_weights=trust_reply).probability("maybe") > 0.6
    assert fit(texts, labels, sample_weights=trust_no_reply).probability("maybe") < 0.45  # classes rebalanced
    assert fit(texts, labels, sample_weights=trust_no_reply, balance=False).probability("maybe") < 0.35
    assert fit(texts, labels).probability("maybe") == pytest.approx(0.5, abs=0.1)


def test_training_is_deterministic_and_records_where_the_model_came_from(model: LearnedModel) -> None:
    texts, labels = synthetic()
    again = fit(texts, labels, source="synthetic, 240 posts", date="2024-05-01")
    assert again.to_json() == model.to_json()
    assert (model.rows, model.date, model.source) == (240, "2024-05-01", "synthetic, 240 posts")
    other_seed = fit(texts, labels, source="synthetic, 240 posts", date="2024-05-01", seed=99)
    assert other_seed.to_json() != model.to_json()


def test_fit_refuses_what_it_cannot_learn_from() -> None:
    with pytest.raises(TypeError, match="unknown hyperparameters"):
        fit(["a", "b"], [True, False], epochz=3)
    with pytest.raises(ValueError, match="labels"):
        fit(["a", "b"], [True])
    with pytest.raises(ValueError, match="both classes"):
        fit(["a", "b"], [True, True])
    with pytest.raises(ValueError, match="sample weights"):
        fit(["a", "b"], [True, False], sample_weights=[1.0, -1.0])


# ------------------------------------------------------------------------------------------- the file


def test_save_and_load_round_trip_gives_identical_probabilities(model: LearnedModel, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    model.save(path)
    loaded = LearnedModel.load(path)
    for text in ["my refund was lost", "thanks crew", "", "@united 3 hours!!", "sooooo broken"]:
        assert loaded.probability(text) == model.probability(text)
        assert loaded.evidence(text) == model.evidence(text)
    assert loaded == model
    assert loaded.to_json() == path.read_text(encoding="utf-8")
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"]  # no temporary file left behind
    document = json.loads(path.read_text(encoding="utf-8"))
    assert (document["format"], document["version"]) == (triage_model.FORMAT, triage_model.FORMAT_VERSION)
    assert document["weights"]["words"]["refund"] > 0 > document["weights"]["words"]["thanks"]  # readable
    assert document["training"]["hyperparameters"] == triage_model.DEFAULTS


def test_save_replaces_an_existing_file_and_keeps_its_mode(model: LearnedModel, tmp_path: Path) -> None:
    path = tmp_path / "model.json"
    path.write_text("old", encoding="utf-8")
    path.chmod(0o640)
    model.save(path)
    assert LearnedModel.load(path) == model
    assert path.stat().st_mode & 0o777 == 0o640


def _corrupt(model: LearnedModel, change: str) -> str:
    document = model.to_dict()
    if change == "format":
        document["format"] = "something-else"
    elif change == "version":
        document["version"] = triage_model.FORMAT_VERSION + 1
    elif change == "nan weight":
        return model.to_json().replace('"bias": ', '"bias": NaN, "x": ', 1)
    elif change == "nan word weight":
        word = next(iter(model.words))
        return json.dumps({**document, "weights": {**document["weights"], "words": {word: "NaN"}}})
    elif change == "text weight":
        document["weights"]["chars"] = {" ref": "high"}
    elif change == "huge weight":
        return model.to_json().replace('"bias": ', '"bias": 1e999, "x": ', 1)
    elif change == "unknown setting":
        document["settings"]["hashing"] = True
    elif change == "bad setting":
        document["settings"]["word_ngrams"] = 7
    elif change == "no weights":
        del document["weights"]
    elif change == "list":
        return "[1, 2, 3]"
    return json.dumps(document)


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ("format", "format"),
        ("version", "version"),
        ("nan weight", "finite"),
        ("nan word weight", "finite"),
        ("text weight", "finite"),
        ("huge weight", "finite"),
        ("unknown setting", "settings"),
        ("bad setting", "word_ngrams"),
        ("no weights", "weights"),
        ("list", "not a triage model"),
    ],
)
def test_load_refuses_a_wrong_or_damaged_file_in_one_sentence(
    model: LearnedModel, tmp_path: Path, change: str, expected: str
) -> None:
    path = tmp_path / "model.json"
    path.write_text(_corrupt(model, change), encoding="utf-8")
    with pytest.raises(ModelFileError) as caught:
        LearnedModel.load(path)
    assert expected in str(caught.value)
    assert one_sentence_naming(caught.value, path), str(caught.value)


def test_load_refuses_a_missing_file_a_directory_and_text_that_is_not_json(tmp_path: Path) -> None:
    cases = {
        tmp_path / "absent.json": "does not exist",
        tmp_path: "directory",
    }
    not_json = tmp_path / "notes.json"
    not_json.write_text("{ this is not json", encoding="utf-8")
    cases[not_json] = "not valid JSON"
    binary = tmp_path / "model.bin"
    binary.write_bytes(b"\xff\xfe\x00junk")
    cases[binary] = "UTF-8"
    for path, expected in cases.items():
        with pytest.raises(ModelFileError) as caught:
            LearnedModel.load(path)
        assert expected in str(caught.value)
        assert one_sentence_naming(caught.value, path), str(caught.value)
        assert isinstance(caught.value, ValueError)
