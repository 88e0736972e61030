"""The reply coach, rule by rule: drafts that must trigger each rule, and drafts that must not, read against the
shipped playbook's [coach] tables."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.services import coach, playbook
from bot.services.coach import Advice, Coaching, Draft, Unconfirmed, fingerprint, held_fingerprint, hold, review
from connectors.base import rule_for

RULES = playbook.default().coach
GOOD = "Hi Jane, I'm so sorry about the wait. I've chased your refund and will update you here today. – Alice"


def advice_on(text: str, *, platform: str = "twitter", public: bool = True, customer: str = "Jane") -> list[Advice]:
    rule = rule_for(platform) if public else None
    return review(Draft(text, customer, "Alice", platform, rule=rule, public=public), RULES)


def rules_broken(text: str, **about: object) -> set[str]:
    return {advice.rule for advice in advice_on(text, **about)}  # type: ignore[arg-type]


def test_a_good_reply_breaks_no_rule() -> None:
    assert advice_on(GOOD) == []


def wrap(body: str) -> str:
    """A body between a good greeting and a good sign-off, so only the rule under test can fire."""
    return f"Hi Jane,\n{body}\n– Alice"


# -- length: blocking, never "send anyway" ------------------------------------------------------------------------
def test_over_the_platforms_limit_is_blocking_advice_with_the_platforms_sentence() -> None:
    [advice] = [a for a in advice_on(wrap("x" * 300)) if a.rule == coach.LENGTH]
    assert advice.blocking and "the limit here is 280" in advice.reason
    assert coach.LENGTH not in rules_broken(wrap("x" * 300), platform="facebook")
    assert coach.LENGTH not in rules_broken(wrap("x" * 300), public=False)  # a private message on X is no post


# -- greeting by first name ---------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Hello, so sorry about this. I'll update you today. – Alice",
        "Hi there! We're on it and will update you today. – Alice",
        "So sorry about this. I'll update you today. Thanks Jane – Alice",  # the name comes too late
        "",
    ],
)
def test_no_greeting_by_first_name_fires(text: str) -> None:
    assert coach.GREETING in rules_broken(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi Jane, so sorry. I'll update you today. – Alice",
        "jane, so sorry. I'll update you today. – Alice",
        "Good morning Jane! I'll update you today. – Alice",
        "Thank you so much, Jane! – Alice",
    ],
)
def test_a_greeting_by_first_name_does_not_fire(text: str) -> None:
    assert coach.GREETING not in rules_broken(text)


def test_greeting_the_wrong_customer_is_called_out_by_name() -> None:
    [advice] = [
        a for a in advice_on("Hi Mark, sorry about this. I'll update you today. – Alice") if a.rule == "greeting"
    ]
    assert advice.reason == "It greets Mark, but the customer's first name is Jane."


def test_a_customer_whose_name_has_no_letters_is_not_asked_to_be_greeted() -> None:
    assert coach.GREETING not in rules_broken("Hello! I'll update you today. – Alice", customer="🔥🔥")


# -- the agent's own first name ------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    [
        "Hi Jane, so sorry about this. I'll update you today.",
        "Hi Jane, so sorry about this. I'll update you today. – The care team",
        "Hi Jane, Alicia here. I'll update you today.",  # another name is not hers
    ],
)
def test_no_sign_off_with_the_agents_first_name_fires(text: str) -> None:
    assert coach.SIGN_OFF in rules_broken(text)


@pytest.mark.parametrize(
    "text",
    [
        "Hi Jane, so sorry about this. I'll update you today. – Alice",
        "Hi Jane, I'm Alice. So sorry about this; I'll update you today.",
        "Hi Jane, so sorry. I'll update you today.\nALICE",
    ],
)
def test_a_sign_off_with_the_agents_first_name_does_not_fire(text: str) -> None:
    assert coach.SIGN_OFF not in rules_broken(text)


def test_when_customer_and_agent_share_a_name_the_greeting_is_not_the_sign_off() -> None:
    draft = Draft("Hi Alice, sorry. I'll update you today.", "Alice", "Alice", "twitter", rule_for("twitter"))
    assert coach.SIGN_OFF in {a.rule for a in review(draft, RULES)}
    assert review(replace(draft, text=draft.text + " – Alice"), RULES) == []


def test_an_agent_slack_could_not_name_is_not_asked_to_sign() -> None:
    draft = Draft("Hi Jane, sorry. I'll update you today.", "Jane", coach.UNKNOWN_AGENT, "twitter")
    assert review(draft, RULES) == []


# -- excuses and blame ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "phrase"),
    [
        ("Unfortunately our policy is that refunds take 30 days.", "unfortunately our policy"),
        ("You should have booked the flexible fare.", "you should have"),
        ("You should’ve booked the flexible fare.", "you should have"),
        ("As per our terms, the fee applies.", "as per our terms"),
        ("That's not our fault, it's the airport's.", "not our fault"),
        ("It's beyond our control, I'm afraid.", "beyond our control"),
    ],
)
def test_excuse_or_blame_phrasing_fires_and_quotes_the_phrase(body: str, phrase: str) -> None:
    [advice] = [a for a in advice_on(wrap(body + " I'll update you today.")) if a.rule == coach.EXCUSES]
    assert f"“{phrase}”" in advice.reason


@pytest.mark.parametrize(
    "body",
    [
        "I'm sorry we let you down. I'll update you today.",
        "Our refund policy page has the details, and I've already started yours today.",
        "You should see the refund in your account today.",
    ],
)
def test_owning_the_problem_does_not_fire(body: str) -> None:
    assert coach.EXCUSES not in rules_broken(wrap(body))


# -- shouting ------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "PLEASE DO NOT WORRY, I'll update you today.",
        "I AM SO SORRY. I'll update you today.",
        "We're REALLY VERY SORRY!!! I'll update you today.",
    ],
)
def test_a_run_of_capitals_fires(body: str) -> None:
    assert coach.SHOUTING in rules_broken(wrap(body))


@pytest.mark.parametrize(
    "body",
    [
        "Your bag went with UPS today.",  # an acronym
        "Your UK and EU VAT refund goes out today.",  # acronyms in a row are no shouting
        "I'm SO sorry. I'll update you today.",  # one word for emphasis
        "Flight AC88 LHR 0930 is rebooked today.",  # codes with digits
        "I'll update you today.",
    ],
)
def test_acronyms_and_emphasis_do_not_fire(body: str) -> None:
    assert coach.SHOUTING not in rules_broken(wrap(body))


# -- a link on X ---------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("link", ["https://acme.example/refunds", "www.acme.com/help", "acme.com/refunds"])
def test_a_link_in_a_public_reply_on_x_fires(link: str) -> None:
    text = wrap(f"The form is at {link} and I'll update you today.")
    assert coach.LINK_ON_X in rules_broken(text)
    assert coach.LINK_ON_X in rules_broken(text, platform="x")


def test_a_link_elsewhere_or_in_a_private_message_or_an_email_address_does_not_fire() -> None:
    text = wrap("The form is at https://acme.example/refunds and I'll update you today.")
    assert coach.LINK_ON_X not in rules_broken(text, platform="facebook")
    assert coach.LINK_ON_X not in rules_broken(text, public=False)
    assert coach.LINK_ON_X not in rules_broken(wrap("Write to care@acme.com and I'll reply today."))


# -- asking the customer to repeat themselves ---------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "Can you tell us what happened?",
        "Please explain the issue so we can help.",
        "Could you tell me a little more here?",
        "What seems to be the problem?",
        "Could you elaborate?",
    ],
)
def test_asking_to_repeat_what_they_wrote_fires(body: str) -> None:
    assert coach.REPEAT_REQUEST in rules_broken(wrap(body))


@pytest.mark.parametrize(
    "body",
    [
        "Could you send me your booking reference? I'll reply today.",
        "I've read what happened and I'll fix it today.",
        "Tell us which flight it was and I'll check today.",
    ],
)
def test_asking_for_the_one_thing_needed_does_not_fire(body: str) -> None:
    assert coach.REPEAT_REQUEST not in rules_broken(wrap(body))


# -- a promise with no time ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body",
    [
        "We'll look into it.",
        "We will look into it.",
        "I’ll get back to you.",
        "Someone will contact you as soon as possible.",
        "We're looking into this and will keep you posted.",
        "We'll sort it out.",
    ],
)
def test_a_promise_with_no_time_fires(body: str) -> None:
    [advice] = [a for a in advice_on(wrap(body)) if a.rule == coach.VAGUE_PROMISE]
    assert "not when" in advice.reason


@pytest.mark.parametrize(
    "body",
    [
        "We'll look into it today.",
        "I'll get back to you by 5pm.",
        "I'll get back to you by 17:30.",
        "I'll update you within the hour.",
        "I'll get back to you tomorrow.",
        "I'll get back to you on Friday.",
        "I'll get back to you in 2 hours.",
        "I'll look into it. You'll hear from me this afternoon.",  # the time may be in another sentence
        "Thanks for your patience.",  # no promise at all
        "I've investigated and your refund is on its way.",  # done, not promised
        "I'm glad we could sort this out.",
        "Just to update you: the refund went out.",
    ],
)
def test_a_promise_with_a_time_or_no_promise_does_not_fire(body: str) -> None:
    assert coach.VAGUE_PROMISE not in rules_broken(wrap(body))


# -- tuning: each rule off, the whole coach off ------------------------------------------------------------------
def test_a_rule_switched_off_in_the_playbook_stays_quiet_but_length_never_does() -> None:
    text = "We'll look into it."
    assert {"greeting", "sign_off", "vague_promise"} <= rules_broken(text)
    quiet = replace(RULES, enabled=RULES.enabled - {"vague_promise"})
    assert "vague_promise" not in {a.rule for a in review(Draft(text, "Jane", "Alice", "twitter"), quiet)}
    silent = replace(RULES, enabled=frozenset())
    long = Draft("x" * 300, "Jane", "Alice", "twitter", rule_for("twitter"))
    assert [a.rule for a in review(long, silent)] == ["length"]


# -- send anyway ---------------------------------------------------------------------------------------------------
def test_hold_holds_a_draft_with_advice_until_that_very_draft_is_confirmed() -> None:
    draft = Draft("Hi Jane, we'll look into it. – Alice", "Jane", "Alice", "twitter", rule_for("twitter"))
    with pytest.raises(Unconfirmed) as held:
        hold([("", draft)], Coaching(RULES, "Alice"))
    assert [a.rule for a in held.value.advice] == ["vague_promise"]
    assert held.value.fingerprint == held_fingerprint([("", draft)])
    hold([("", draft)], Coaching(RULES, "Alice", confirmed=held.value.fingerprint))  # sent anyway: no raise
    privately = replace(draft, public=False, rule=None)
    with pytest.raises(Unconfirmed):  # the same words switched to a private message: checked again
        hold([("", privately)], Coaching(RULES, "Alice", confirmed=held.value.fingerprint))
    edited = replace(draft, text=draft.text.replace("it.", "it!"))
    with pytest.raises(Unconfirmed):  # an edited draft is checked again
        hold([("", edited)], Coaching(RULES, "Alice", confirmed=held.value.fingerprint))
    hold([("", replace(draft, text=GOOD))], Coaching(RULES, "Alice"))  # a good draft is never held


def test_advice_on_two_texts_says_which_text_it_is_about() -> None:
    public = Draft("Hi Jane, I've sent you a DM. – Alice", "Jane", "Alice", "twitter", rule_for("twitter"))
    private = Draft("Hi Jane, can you tell us what happened? – Alice", "Jane", "Alice", "twitter", public=False)
    with pytest.raises(Unconfirmed) as held:
        hold([("Public reply", public), ("Private message", private)], Coaching(RULES, "Alice"))
    assert [(a.about, a.rule) for a in held.value.advice] == [("Private message", "repeat_request")]
    both = [("Public reply", public), ("Private message", private)]
    assert held.value.fingerprint == held_fingerprint(both) != held_fingerprint(both[::-1])


def test_the_fingerprint_ignores_surrounding_space_only() -> None:
    assert fingerprint(" Hi Jane \n") == fingerprint("Hi Jane")
    assert fingerprint("Hi Jane") != fingerprint("Hi  Jane") != fingerprint("hi Jane")
