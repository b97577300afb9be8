"""The matcher on the shipped knowledge: normalisation, decision edge cases, typo and jargon
tolerance, small talk, out-of-scope fallback, the shape of a Match, determinism, thresholds."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.config import MatchingConfig, bundled_knowledge_dir
from bot.knowledge import KnowledgeBase, load_knowledge
from bot.matching import Match, Matcher, normalize, stem

ROOT = Path(__file__).resolve().parent.parent
IN_SCOPE_KINDS = {"milestone", "faq", "overview"}
CONTINUING = {"continuous-learning", "faq-continuing-education"}
BURNOUT = {"work-life-balance", "faq-work-life-balance", "maintaining-passion"}
RETIREMENT = {"retirement", "faq-retirement"}
AFTER_PASSING = {"faq-after-passing", "overview"}
# entries whose FAQ twin is an equally right answer
PAIRS = {
    "continuous-learning": CONTINUING,
    "work-life-balance": {"work-life-balance", "faq-work-life-balance"},
    "retirement": RETIREMENT,
    "choosing-specialty": {"choosing-specialty", "faq-choosing-specialty"},
}


@pytest.fixture(scope="module")
def kb() -> KnowledgeBase:
    return load_knowledge(bundled_knowledge_dir())


@pytest.fixture(scope="module")
def matcher(kb: KnowledgeBase) -> Matcher:
    return Matcher(kb)


def answered(match: Match) -> str | None:
    """The id the user is answered with, or None when not a plain answer."""
    if match.decision == "answer" and match.entry is not None:
        return match.entry.id
    return None


def describe(match: Match) -> str:
    got = match.entry.id if match.entry else None
    ranked = [(c.entry_id, c.score) for c in match.candidates]
    return f"{match.query!r}: {match.decision} {got} {ranked}"


# ----------------------------------------------------------------- normalisation


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Residency", "residency"),
        ("RESIDENCY", "residency"),
        ("résidency", "residency"),
        ("Rèsidéncy", "residency"),
        ("FELLOWSHIP?!", "fellowship"),
        ("board-certification, please...", "board certification please"),
        ("  many\t spaces\n here ", "many spaces here"),
        ("residency 😀🎉", "residency"),
        ("😀😀", ""),
        ("¿¡!?.,;:", ""),
        # a stretched letter is typed for feeling, a doubled one is spelling
        ("hellooo, sooo tired", "hello so tired"),
        ("byeeee!!", "bye"),
        ("3 yrs in, 1 yr left", "3 years in 1 year left"),
        ("50mg or 0.5mg?", "50 mg or 0 5 mg"),
        ("all good, thanks 100000", "all good thanks 100000"),
    ],
)
def test_normalize(text: str, expected: str) -> None:
    assert normalize(text) == expected


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("PGY-2", "pgy2"),
        ("pgy-2", "PGY2"),
        ("don't", "do not"),
        ("doesn't", "does not"),
        ("can't", "can not"),
        ("won't", "will not"),
        ("I’m lost", "I'm lost"),
        ("what’s next", "what's next"),
        # spelled out: "I'll" is not "ill", "we'd" is not "wed", "we're" is not "were"
        ("I'll", "I will"),
        ("we’d", "we would"),
        ("you've", "you have"),
        ("we're", "we are"),
    ],
)
def test_normalize_treats_variants_alike(a: str, b: str) -> None:
    assert normalize(a) == normalize(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("certified", "certification"),
        ("certify", "certification"),
        ("mentoring", "mentors"),
        ("chose", "choose"),
    ],
)
def test_word_forms_meet(a: str, b: str) -> None:
    assert stem(a) == stem(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [("internal", "intern"), ("professor", "professional"), ("committee", "commitment")],
)
def test_different_concepts_stay_apart(a: str, b: str) -> None:
    """ "internal medicine" is no intern year; a professor is not the profession."""
    assert stem(a) != stem(b)


def test_pgy_2_is_read_as_residency_however_it_is_written(matcher: Matcher) -> None:
    ids = {answered(matcher.match(q)) for q in ("PGY-2", "pgy2", "Pgy-2", "PGY 2")}
    assert ids == {"residency"}


# ----------------------------------------------------------------- decision edge cases


@pytest.mark.parametrize("text", ["", " ", "   \n\t  ", "😀😀", "🎉", "???", "..."])
def test_empty_whitespace_emoji_and_punctuation_fall_back(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.decision == "fallback"
    assert match.entry is None
    assert match.candidates == ()
    assert match.score == 0.0


@pytest.mark.parametrize("text", ["what is the", "the", "how do i", "is it", "what about that"])
def test_stop_words_only_fall_back(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.decision == "fallback", describe(match)


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("residency", {"residency"}),
        ("Residency!", {"residency"}),
        ("fellowship", {"fellowship"}),
        ("retirement", {"retirement", "faq-retirement"}),
        ("specialty", {"choosing-specialty", "faq-choosing-specialty"}),
        ("CME", CONTINUING),
    ],
)
def test_one_word_answers_its_topic(matcher: Matcher, word: str, expected: set[str]) -> None:
    match = matcher.match(word)
    assert answered(match) in expected, describe(match)


def test_query_is_kept_trimmed(matcher: Matcher) -> None:
    assert matcher.match("  residency \n").query == "residency"


@pytest.mark.parametrize(
    "text",
    [
        "a" * 4096,
        ("residency " * 500)[:4096],
        ("how do i choose a specialty after residency and fellowship? " * 80)[:4096],
        " ".join(
            "".join(random.Random(i).choice("abcdefghijklmnopqrstuvwxyz") for _ in range(1 + i % 9))
            for i in range(900)
        )[:4096],
        "😀" * 4096,
    ],
    ids=["one-letter", "one-word", "one-question", "random-words", "emoji"],
)
def test_a_4096_character_message_returns_a_match(matcher: Matcher, text: str) -> None:
    assert len(text) == 4096
    match = matcher.match(text)
    assert isinstance(match, Match)
    assert match.decision in {"answer", "clarify", "fallback"}


def test_a_long_repetition_of_one_topic_answers_it(matcher: Matcher) -> None:
    assert answered(matcher.match(("residency " * 500)[:4096])) == "residency"


# ----------------------------------------------------------------- traps of fuzzy scorers


@pytest.mark.parametrize(
    ("noisy", "plain"),
    [
        ("hey bot please, how do I choose a specialty", "how do I choose a specialty"),
        ("hi! quick question please: what is a fellowship", "what is a fellowship"),
        ("hello doc, how do I keep up with CME", "how do I keep up with CME"),
    ],
)
def test_filler_words_do_not_change_the_answer(matcher: Matcher, noisy: str, plain: str) -> None:
    clean = matcher.match(plain)
    assert clean.decision == "answer", describe(clean)
    with_filler = matcher.match(noisy)
    assert answered(with_filler) == answered(clean), describe(with_filler)


@pytest.mark.parametrize(
    "text",
    [
        "what is the weather",
        "what is the weather like in boston",
        "what time does the train leave",
        "how do I change a tire",
        "what is the best laptop",
        "how do I bake bread",
    ],
)
def test_one_shared_common_word_does_not_answer(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.decision != "answer", describe(match)


@pytest.mark.parametrize("text", ["please", "help please", "quick question please", "ok"])
def test_filler_alone_never_answers_a_topic(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    if match.decision == "answer":
        assert match.entry is not None
        assert match.entry.kind == "smalltalk", describe(match)


# ----------------------------------------------------------------- typos and jargon


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("resdency", {"residency"}),
        ("how long is resdency", {"residency"}),
        ("fellowshp", {"fellowship"}),
        ("should I do a fellowshp after residency", {"fellowship"}),
        ("burnot", BURNOUT),
        ("I think I have burnot", BURNOUT),
        ("how do I pick a speciality", {"choosing-specialty", "faq-choosing-specialty"}),
        # chat shorthand ("rn", "ngl") is not an unknown topic word
        (
            "cant deside on a feild ngl, so confused rn",
            {"choosing-specialty", "faq-choosing-specialty"},
        ),
        ("retirment planning", {"retirement", "faq-retirement"}),
        # "shud" is "should", not "shut"; "chose" is "choose", not the passion of "why I chose"
        ("wich speciality shud i chose", {"choosing-specialty", "faq-choosing-specialty"}),
    ],
)
def test_typos_are_tolerated(matcher: Matcher, text: str, expected: set[str]) -> None:
    match = matcher.match(text)
    assert answered(match) in expected, describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what should I expect as a PGY-1", {"residency"}),
        ("what does a PGY-2 do", {"residency"}),
        ("how many CME credits do I need each year", CONTINUING),
        ("best way to earn CME", CONTINUING),
        ("is MOC worth it", {"board-certification"}),
        ("how does MOC work", {"board-certification"}),
        # plain words for the same things
        ("cried in the on call room again tonight", BURNOUT),
        ("sobbing in the car after every shift", BURNOUT),
        # picking up shifts is workload, not picking a specialty
        (
            "how to say no when everyone expects me to pick up extra shifts",
            PAIRS["work-life-balance"],
        ),
        ("i dont love this anymore. i used to. how do i get that back", {"maintaining-passion"}),
        ("intern year starts monday and im scared ill be the weak link", {"residency"}),
        # burnout is the question, residency its setting
        ("im a pgy2 and burnt out, how do ppl survive this", BURNOUT),
        ("what does it take to land a training spot in the US", {"residency"}),
        ("no idea what to go into and its keeping me up at night", PAIRS["choosing-specialty"]),
        # "the price of" is a cost in life, not money
        ("I never see my kids anymore. Is that just the price of being a surgeon?", BURNOUT),
        (
            "going from med student to intern is terrifying, how do people handle that jump?",
            {"career-transitions"},
        ),
        ("when should I take a bold career gamble vs play it safe", {"career-transitions"}),
        (
            "how do senior docs keep it fresh after 30 yrs of the same thing",
            {"maintaining-passion"},
        ),
        ("what are first steps after clearing usmle as IMG", AFTER_PASSING),
        # "hands on" is a procedural bent, "path" after "or" is pathology: specialty questions
        ("i like hands on, surgery?", PAIRS["choosing-specialty"]),
        ("surgery or path??", PAIRS["choosing-specialty"]),
        ("how to aproach residency", {"residency"}),
        ("continuing ed necessary?", CONTINUING),
        ("after usmle what first", AFTER_PASSING),
        ("passed everything but I have no plan. where do I even begin?", AFTER_PASSING),
        ("pgy1 starting soon, tips?", {"residency"}),
        ("retired surgeon here, what do I do with myself? I don't want to fade away", RETIREMENT),
        ("is residency just a job with long hours or is there more to it", {"residency"}),
        ("are weekend courses and lecture series worth it after residency", CONTINUING),
        ("how do i get a training spot", {"residency"}),
        ("how to get in residency now that steps r done", {"residency", "faq-after-passing"}),
        ("sum up the whole guide for me", {"overview"}),
        # "last year" is a date, not the last years of a career
        ("matched last year and now i feel lost as an intern", {"residency"}),
    ],
)
def test_jargon_and_plain_words_are_understood(
    matcher: Matcher, text: str, expected: set[str]
) -> None:
    match = matcher.match(text)
    assert answered(match) in expected, describe(match)


# ----------------------------------------------------------------- small talk


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hi", "greeting"),
        ("Hi!", "greeting"),
        ("hello", "greeting"),
        ("hello there", "greeting"),
        ("thanks!", "thanks"),
        ("thank you so much!", "thanks"),
        ("bye", "goodbye"),
        ("bye!", "goodbye"),
        ("who are you", "about-bot"),
        ("who are you?", "about-bot"),
        ("helloooo", "greeting"),
        ("byeeee", "goodbye"),
        ("is my data private?", "about-bot"),
        # particles from users' own languages are not words to correct ("yaar" is not "year")
        ("hello po", "greeting"),
        # a greeting then a question: the question is what to answer ...
        ("hi, what can you do", "about-bot"),
        ("hello, who are you?", "about-bot"),
        # ... but a greeting then a statement is still a greeting
        ("hi, my son is a doctor and told me about this bot", "greeting"),
        ("good morning doc bot", "greeting"),
        ("are you real doctor or bot yaar", "about-bot"),
    ],
)
def test_small_talk(matcher: Matcher, text: str, expected: str) -> None:
    match = matcher.match(text)
    assert answered(match) == expected, describe(match)


@pytest.mark.parametrize("text", ["hi", "hi!", "Hi", "hii", "hi there", "hi bot", "hi hi"])
def test_hi_never_gets_retirement(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert "retirement" not in {c.entry_id for c in match.candidates[:1]}, describe(match)
    assert match.entry is None or match.entry.kind == "smalltalk", describe(match)


# ----------------------------------------------------------------- out of scope


@pytest.mark.parametrize(
    "text",
    [
        "can I get an H1B visa for residency",
        "do I need a J-1 waiver",
        "how much does a cardiologist make",
        "what is the average salary of a family doctor",
        "what's the dose of metformin for diabetes",
        "max dose of ibuprofen for adults",
        "is 250 a good step 1 score",
        "what score do I need on step 2 ck for derm",
        "is it reasonable to start sertraline for a burned-out colleague",
        "how should I structure the buy-in for a partner taking over my practice",
        "can the program legally fire my wife for taking maternity leave",
        "remind me to call the program coordinator at three",
        "top 10 internal medicine residency programs in the US",
        "how should I order my rank list if I loved one program but it's far from my partner",
        "my attending screams at me every day, how do I file a formal complaint",
        "I'm on a performance improvement plan and HR wants a meeting, should I bring a union rep",
        "which resources are best for the ABIM board exam",
        "best resource to study for the IM boards",
        "should i rank a program i hated on my rank list or leave it off",
        "is there a 7 year rule for passing all the steps",
        "whats a fair price to sell my practice",
        "how many hours a day should I study for CK",
        "what do I wear to residency interviews",
        "are away rotations necessary for matching derm?",
        "what's on the MOC exam blueprint this year",
        "top im programs",
        "fired by program director",
        "is it safe to take 50mg trazodone to sleep after nights",
        "when do step 1 results come out",
        "I was dismissed from my residency program today, how do I appeal",
        "should i get an ipad or a macbook for charting at home",
        "my colleague drinks a lot, what are the signs of alcohol withdrawal",
        "how many away rotations should i do for ortho",
        # a score right after its exam, even when a word follows
        "step 2 ck 235 enough for IM match?",
        "should i max out my 401k as a pgy1",
        "nhs pension 2015 scheme how much will i get at retirement",
        "is telehealth billable across state lines",
        "how much does a board review course cost",
        "oet writing tips for doctors, i keep getting B",
        "can i take step 3 before residency starts",
        "warfarin reversal guideline",
        "which retirement account gives best returns for doctors",
        "can i work in ireland with usmle",
        "thank you email after interview yes or no",
        "can I afford a mortgage on a resident salary",
        "401k vs 457b",
        "need 3 mil to retire?",
        "soap match stats",
        "FCPS passed, is it equivalent to american board certification?",
        "can I enter SOAP if I'm a DO who only took COMLEX and no USMLE?",
        "which specialty pays the most?",
        "my husband is surgeon, which disability insurance is best in case he hurt his hand",
    ],
)
def test_medically_adjacent_out_of_scope_falls_back(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.decision == "fallback", describe(match)
    assert match.entry is None or match.entry.kind == "redirect", describe(match)


@pytest.mark.parametrize(
    ("text", "redirect"),
    [
        ("do I need malpractice tail coverage when I retire", "redirect-licensing"),
        ("average fellowship stipend for cardiology", "redirect-salary"),
        ("what ssri would you start for a burned out resident", "redirect-clinical"),
        (
            "my first attending contract has a non compete clause, is that normal",
            "redirect-licensing",
        ),
        ("for retirement, is a roth ira or a 401k better", "redirect-salary"),
        ("when should i take step 3", "redirect-exam-prep"),
        ("do my step 1 results expire", "redirect-exam-prep"),
        ("what is the best treatment for a cough that lasts weeks", "redirect-clinical"),
        ("abim board exam fee, how much", "redirect-salary"),
        ("what are the symptoms of pneumonia", "redirect-clinical"),
        ("drug interactions with warfarin", "redirect-clinical"),
        ("what percent of imgs match into derm", "redirect-application"),
        ("can i do residency in canada instead", "redirect-off-topic"),
        ("do interns get paid more in california", "redirect-salary"),
        ("when does SOAP start this cycle", "redirect-application"),
        # ... but a thanks followed by a topic is a request
        ("thanks, and h1b sponsorship", "redirect-visa"),
        # the cue is in the asking clause itself
        ("im burnt out in residency, whats the best ssri dose to start", "redirect-clinical"),
        # the ask points back at the context
        (
            "my contract has a non compete. is it enforceable if i move into administration",
            "redirect-licensing",
        ),
        # a yes/no clause after a comma leans on what came before it
        ("i failed step 1 once, can i still match into residency", "redirect-exam-prep"),
    ],
)
def test_a_redirect_cue_beats_a_covered_topic_word(
    matcher: Matcher, text: str, redirect: str
) -> None:
    """CME, fellowship, burnout and retirement are covered; these specifics are not."""
    match = matcher.match(text)
    assert match.decision == "fallback", describe(match)
    assert match.entry is not None and match.entry.id == redirect, describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # "programming" is an off-topic cue; "program" must not set it off
        ("how do I get a mentor in cardiology when my program has none?", "professional-network"),
        # "dose" is a clinical word, but here it is a typo of "does"
        ("wat exactly dose passing the usmle open up for me", "usmle-landscape"),
    ],
)
def test_cues_match_whole_words_only(matcher: Matcher, text: str, expected: str) -> None:
    match = matcher.match(text)
    assert answered(match) == expected, describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("should I switch from lisinopril to losartan", "redirect-clinical"),  # "*pril" ending
        ("how many CME credits does Texas require for renewal", "redirect-licensing"),
        ("do I need a new license to work in New York", "redirect-licensing"),
    ],
)
def test_drug_names_and_state_rules_are_not_covered(
    matcher: Matcher, text: str, expected: str
) -> None:
    match = matcher.match(text)
    assert match.decision == "fallback", describe(match)
    assert match.entry is not None and match.entry.id == expected, describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # a state name alone is context, not a licensing question
        ("im an IMG starting residency in ohio and scared i will be slow", "residency"),
        # "april" ends like "*pril" but is an everyday word
        ("in april I start residency, how do I survive intern year", "residency"),
        ("how many CME credits do I need as an attending", "continuous-learning"),
        # "expire" is a score cue only next to a score, step or result
        ("abms boards after residency, do they expire", "board-certification"),
        # "rota" is a UK duty roster, not a typo of "roth" (a retirement account)
        (
            "q3 call on the rota and my family barely sees me, how do people protect time off",
            "work-life-balance",
        ),
        # clinical and application words in a career sense
        ("what are the symptoms of burnout", "work-life-balance"),
        ("deadlines at work are crushing me", "work-life-balance"),
        ("how do I improve my interactions with colleagues", "professional-network"),
        # credentialing is a paperwork cue only next to its process
        (
            "does the credentialing committee even look at MOC status for attendings over 50",
            "board-certification",
        ),
        # a retirement account is the retirement topic; what to do with one is not
        (
            "PGY1 with a 401k of like $800 lol. is it dumb to already be thinking about retirement",
            "retirement",
        ),
        # a number the knowledge uses ("conrad 30") is not its topic
        ("how to stay in love with medicine for 30 more years", "maintaining-passion"),
        # "paid" is pay only when someone gets paid
        ("are cme conferences real learning or just a paid holiday", "continuous-learning"),
        # "on top of" is an idiom, not keeping up with the literature
        ("moonlighting on top of 80hr wks = burnout?", "work-life-balance"),
        # a country, a mortgage, a car park, a disease or the rank list as context is not
        # the question
        (
            "I said yes to every committee and every favor. Now I'm drowning and last week I"
            " missed my daughter's recital for a meeting about parking. How do I start saying no?",
            "work-life-balance",
        ),
        (
            "IMG, done with Step 1 and 2CK, ECFMG certified. What should I prioritize now?",
            "faq-after-passing",
        ),
        (
            "has anyone switched specialty this late and how do you even approach a decision"
            " like that with a mortgage and two kids",
            "career-transitions",
        ),
        (
            "my consultant in UK told me american board cert is lifelong process not one time"
            " exam, is it true?",
            "board-certification",
        ),
        (
            "15 years in family med, not burned out, just bored. same URIs, same diabetes follow"
            " ups every day. how do people find the excitement again",
            "maintaining-passion",
        ),
        (
            "how does the match even work in general like ERAS then interviews then rank list",
            "residency",
        ),
        # a reminder to set is off topic, a reminder of why you started is not
        ("remind me why I wanted to be a doctor in the first place", "maintaining-passion"),
        # "cough" is a symptom cue only when asked about treatment
        (
            "bored of gp work, same cough and cold every day, how to find it interesting again",
            "maintaining-passion",
        ),
    ],
)
def test_cue_lookalikes_still_answer(matcher: Matcher, text: str, expected: str) -> None:
    match = matcher.match(text)
    assert answered(match) in {expected, *PAIRS.get(expected, ())}, describe(match)


def test_investing_time_in_conferences_is_not_a_money_question(matcher: Matcher) -> None:
    """Conferences are for contacts and for learning: either answer is right."""
    match = matcher.match("is it worth investing time in conferences")
    assert answered(match) in {"professional-network", *CONTINUING}, describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("thank you so much, this really helped me calm down after my shift", "thanks"),
        ("ok bye, going back to my night shift", "goodbye"),
        ("okay bye gotta go into the ward now", "goodbye"),
        ("thanks so much, this helps me understand what my husband is going through", "thanks"),
        # a topic's cue ("residency ... brutal") does not outweigh the closing
        ("thanks so much, residency is brutal but this really helped", "thanks"),
        # a closing as the last sentence
        ("ok im going to try to sleep now. bye", "goodbye"),
        # leaving names the exam to go back to; it does not ask about it
        ("bye, gotta finish my uworld block", "goodbye"),
        # a thanks is answered as one even when nothing else in the message scores
        ("thanks. genuinely. I feel a little less alone", "thanks"),
    ],
)
def test_a_closing_message_is_small_talk_whatever_it_mentions(
    matcher: Matcher, text: str, expected: str
) -> None:
    assert answered(matcher.match(text)) == expected


def test_a_question_sharing_words_with_a_goodbye_is_not_one(matcher: Matcher) -> None:
    """ "take care" is a goodbye; "how to take care of myself" asks about self-care."""
    match = matcher.match("how to take care of myself while im in training")
    assert answered(match) in {"work-life-balance", "faq-work-life-balance"}, describe(match)


def test_a_tech_question_not_addressed_to_the_bot_is_not_about_it(matcher: Matcher) -> None:
    """ "are you an AI" is the about page; AI and EHR tools in a career question are not."""
    match = matcher.match("does knowing epic and the ehr well actually matter or is it overhyped")
    assert match.decision == "answer" and answered(match) == "technology-innovation", describe(
        match
    )
    assert answered(matcher.match("am i talking to a human")) == "about-bot"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "pgy1 starting july, been doing uworld for step 3 on the side but mostly i want"
            " to know what mindset helps u learn fast as a new intern",
            "residency",
        ),
        (
            "step 2 ck done with a meh score, anyway how do i know if im more of a surgery"
            " person or a medicine person",
            "choosing-specialty",
        ),
    ],
)
def test_exam_prep_before_a_topic_ask_is_only_background(
    matcher: Matcher, text: str, expected: str
) -> None:
    """The last clause asks a covered topic and names no redirect: the exam talk before
    it is who the user is, not what they ask."""
    match = matcher.match(text)
    assert match.decision == "answer" and answered(match) in {
        expected,
        f"faq-{expected}",
    }, describe(match)


@pytest.mark.parametrize(
    "text",
    [
        "new intern here, but what uworld score do i need for step 3",
        "my contract has a two-year non-compete. is it enforceable if i move into admin?",
        # "what do they ask" asks about the context (the interview), whatever "IMGs" shares
        "residency interview tips pls, what do they usually ask IMGs",
    ],
)
def test_a_redirect_in_the_last_clause_is_still_the_question(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert match.decision == "fallback" and match.entry is not None, describe(match)
    assert match.entry.kind == "redirect", describe(match)


def test_thanks_then_so_what_asks_a_question(matcher: Matcher) -> None:
    """ "so what ..." opens a question as much as "what ..." does."""
    match = matcher.match("thanks for earlier! so what attitude should i bring into residency")
    assert match.decision == "answer" and answered(match) == "residency", describe(match)
    assert answered(matcher.match("thanks so much, that helped")) == "thanks"


def test_a_topic_cue_answers_a_question_with_few_known_words(matcher: Matcher) -> None:
    """Few of its words are in the knowledge, but "swallowing your whole life" names the
    work-life balance problem: answer it rather than say it is not covered."""
    match = matcher.match("how do you keep the job from swallowing your whole life")
    assert match.decision == "answer", describe(match)
    assert answered(match) in {"work-life-balance", "faq-work-life-balance"}, describe(match)


def test_all_this_tech_is_not_the_bot(matcher: Matcher) -> None:
    """ "this" addresses the bot in "is this a bot", not in "all this tech"."""
    match = matcher.match("our EHR upgrade is killing me. how do i make peace with all this tech")
    assert match.decision == "answer" and answered(match) == "technology-innovation", describe(
        match
    )


def test_asking_whether_the_bot_is_an_ai_product_is_about_the_bot(matcher: Matcher) -> None:
    """ "chatgpt" is also a technology word; "is this chatgpt" asks what the bot is."""
    match = matcher.match("is this chatgpt or what lol")
    assert match.decision == "answer" and answered(match) == "about-bot", describe(match)


@pytest.mark.parametrize(
    "text",
    [
        "thanks! and what about fellowship, is it worth it?",
        "thanks. how do I decide whether to do a fellowship",
        "thank you how do i apply to a fellowship after residency",
        "how do i decide whether to do a fellowship. thanks",
    ],
)
def test_a_question_after_thanks_is_answered(matcher: Matcher, text: str) -> None:
    match = matcher.match(text)
    assert answered(match) == "fellowship", describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the e h r is killing me, how do i get better with it", "technology-innovation"),
        ("what is m o c exactly", "board-certification"),
        ("why does the u s m l e matter so much", "usmle-landscape"),
        ("is a fellow ship worth it after internal medicine", "fellowship"),
        ("tele health and the future of medicine", "technology-innovation"),
    ],
)
def test_words_split_by_dictation_are_joined(matcher: Matcher, text: str, expected: str) -> None:
    match = matcher.match(text)
    assert answered(match) == expected, describe(match)


def test_everyday_words_are_not_joined_into_another_word(matcher: Matcher) -> None:
    """ "day to day" must not become "today", a word the small talk uses."""
    match = matcher.match("what is residency actually like day to day")
    assert answered(match) == "residency", describe(match)


@pytest.mark.parametrize(
    "text",
    [
        "how do doctors make the switch from full time clinical work into hospital admin roles",
        "leaving bedside work for an admin gig, how do i pivot",
        "going from resident to attending in 3 months, how do i prep for that shift",
        (
            "after 15 years as a hospitalist im thinking of retraining, how do people manage"
            " a change that late"
        ),
    ],
)
def test_a_change_of_setting_is_a_career_transition(matcher: Matcher, text: str) -> None:
    """Admin, attending and part-time words lean elsewhere; the move itself is the topic."""
    match = matcher.match(text)
    assert answered(match) == "career-transitions", describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("how do I keep my interns from turning jaded by PGY-2", "maintaining-passion"),
        ("how do doctors stay motivated after 20 years of practice", "maintaining-passion"),
        ("as a locums doc how do i keep up professional connections", "professional-network"),
        ("extra 2-3 yrs in cards after IM, good idea?", "fellowship"),
        # the life of a resident, and a tired doctor's limits, are the ask
        ("intern yr starts july, how do i not drown as a pgy1", "residency"),
        (
            "bhai is residency basically a job or still training, do they treat us like students",
            "residency",
        ),
        (
            "q4 call plus moonlighting and 2 kids at home, how do ppl do it without crashing",
            "work-life-balance",
        ),
        (
            "i am a fellow now and want to get into teaching residents how do i mentor them well",
            "leadership-teaching",
        ),
        (
            "honestly AI scares me. i spent 11 years training and now a chatbot passes the"
            " boards. am i going to be obsolete",
            "technology-innovation",
        ),
        (
            "how do i stop feeling like a cog in the machine after all these years, want my"
            " work to mean something again",
            "maintaining-passion",
        ),
        (
            "the younger docs in my group keep coming to me for advice, how do i guide them well",
            "leadership-teaching",
        ),
        ("just got my step 2 result, PASSED!! ok so now what do i do first", "faq-after-passing"),
        (
            "do doctors in us have to keep doing courses for keeping their licence active even"
            " after 20 years",
            "continuous-learning",
        ),
        (
            "i am the only filipino in my program and feel very alone, no one to ask for advice",
            "professional-network",
        ),
        # retaking boards for MOC and having passed COMLEX are not exam-prep questions
        (
            "whats the deal with MOC, do u have to keep retaking boards forever once you're"
            " certified",
            "board-certification",
        ),
        (
            "I'm a DO who took both COMLEX and USMLE and passed everything. Now I'm kind of lost"
            " on what to prioritize next. Where should my focus go?",
            "faq-after-passing",
        ),
        # "pays off" is not a pay question
        (
            "my junior colleague wonders whether extra sub-speciality training after her"
            " internal medicine years pays off or if she should just start practicing",
            "fellowship",
        ),
        # an exam passed is the setting; deciding on a field is the ask
        (
            "I come from china, pass step 1 last month. how I know which specialty is right for"
            " me? I like the research and also want to help many people",
            "choosing-specialty",
        ),
        (
            "how much does the usmle actually matter for your career long term or is it just"
            " one more hoop",
            "usmle-landscape",
        ),
        ("how do you stay curious about medicine 20 years in", "maintaining-passion"),
        # a relative who only speaks is context, not family time
        (
            "my husband wants to start guiding the younger docs in his department and sit on"
            " hospital committees, how does someone grow into that kind of role",
            "leadership-teaching",
        ),
        (
            "done with all the steps. my family keeps asking what happens after and i cant"
            " explain the stages. what are they",
            "overview",
        ),
        (
            "the whole family assumes i will be a surgeon like dad but i like psych, how do i"
            " work out what fits me",
            "choosing-specialty",
        ),
        # the last clause carries the topic's cue, so it may lift from further behind
        (
            "my hours are fine, i get home on time and see my kids. the work itself feels"
            " hollow though. how do i find meaning in it again?",
            "maintaining-passion",
        ),
        (
            "how i can get chance to teach in medical college while working as consultant in"
            " the hospital?",
            "leadership-teaching",
        ),
        # ... but family at the heart of the question still is
        (
            "my wife says im never home and the kids miss me, how do i set limits",
            "work-life-balance",
        ),
    ],
)
def test_the_ask_outweighs_the_setting(matcher: Matcher, text: str, expected: str) -> None:
    """Interns, practice and locums name a setting; staying motivated or connected is the ask."""
    match = matcher.match(text)
    assert answered(match) in {expected, *PAIRS.get(expected, ())}, describe(match)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        (
            "with 300k in loans i only went into medicine for the paycheck honestly, how do i"
            " find meaning in my work again",
            {"maintaining-passion"},
        ),
        ("finally paid off my student loans. how should i plan for retirement", RETIREMENT),
        (
            "i pay a fortune for uworld. what should i do after passing the usmle",
            "faq-after-passing",
        ),
    ],
)
def test_a_redirect_cue_in_the_context_gives_way_to_the_ask(
    matcher: Matcher, text: str, accepted: set[str]
) -> None:
    """Loans and prep books set the scene; the asking clause alone is about a covered topic."""
    match = matcher.match(text)
    assert answered(match) in accepted, describe(match)


@pytest.mark.parametrize(
    ("text", "accepted"),
    [
        (
            "IM pgy2 with a lot of loans. money aside, how do i decide if a cards fellowship is"
            " worth doing vs just going hospitalist",
            {"fellowship"},
        ),
        ("loans aside can u map out the whole career for me, intern to retirement", {"overview"}),
        ("besides the money, is a fellowship worth doing", {"fellowship"}),
        # "aside from" sets aside what follows it, not the words before
        (
            "how do i choose a specialty aside from the money",
            {"choosing-specialty", "faq-choosing-specialty"},
        ),
    ],
)
def test_what_the_user_sets_aside_is_not_the_question(
    matcher: Matcher, text: str, accepted: set[str]
) -> None:
    match = matcher.match(text)
    assert answered(match) in accepted, describe(match)


def test_putting_money_aside_is_still_money(matcher: Matcher) -> None:
    """Saving is not setting aside: the salary redirect still catches it."""
    match = matcher.match("how much money should i be putting aside each month as a resident")
    assert match.decision == "fallback", describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("my husband pgy3 internal med thinking cards fellowship, is it a good idea", "fellowship"),
        ("my son is consultant now, should he do a fellowship", "fellowship"),
    ],
)
def test_a_relative_asked_about_is_not_family_time(
    matcher: Matcher, text: str, expected: str
) -> None:
    """Asking for a husband who is a resident is a career question, not work-life balance."""
    match = matcher.match(text)
    assert answered(match) == expected, describe(match)


def test_a_redirect_cue_at_the_top_score_still_leads(matcher: Matcher) -> None:
    """A covered phrasing and a redirect cue both reaching 100 used to tie, and file order
    picked the phrasing: "how soap works" is SOAP mechanics, which the guide lacks."""
    match = matcher.match("how soap works if i dont match")
    assert match.decision == "fallback", describe(match)
    assert match.entry is not None and match.entry.id == "redirect-application"


def test_a_topic_cue_among_unknown_words_falls_back(matcher: Matcher) -> None:
    """The cue's words are all stop words here: nothing scores, and nothing may crash."""
    match = matcher.match("zzq why i got into zzq again")
    assert match.decision == "fallback", describe(match)


def test_a_redirect_cue_still_beats_a_topic_cue(matcher: Matcher) -> None:
    match = matcher.match("switching from clinical work into admin, what salary can i expect")
    assert match.entry is not None and match.entry.id == "redirect-salary", describe(match)


def test_a_topic_named_several_ways_outweighs_one_mention_of_another(matcher: Matcher) -> None:
    """ "keep up" alone means continuing education; three technology words say what to keep up with."""
    match = matcher.match("how do I keep up with all the new telehealth, EHR and AI tools")
    assert answered(match) == "technology-innovation", describe(match)


def test_a_rewritten_term_is_not_torn_apart_by_another_synonym(matcher: Matcher) -> None:
    """ "kids" reads as "work life balance"; its "work life" must not then become "working
    life", the career map."""
    match = matcher.match(
        "Im a 55 year old family doc, my kids laugh at me because I still prefer paper charts. "
        "how do older doctors like me get comfortable with all this new tech?"
    )
    assert answered(match) == "technology-innovation", describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("what kidn of doctor should I become", {"choosing-specialty", "faq-choosing-specialty"}),
        # "wich" is "which", a stop word, not "rich" (money)
        (
            "how do u know wich speciality is rite for u",
            {"choosing-specialty", "faq-choosing-specialty"},
        ),
        ("so overwhleming and tierd all the time, how do ppl find balance", BURNOUT),
        # "dose" after "how" is a slip for "does", not a dosing question
        ("how dose residency work in the us", {"residency"}),
        ("kya fellowship is worth it yaar", {"fellowship"}),
        # Hindi words are not typos of English ones: "liye" is not "life" (family time)
        ("residency ke liye kya karna hai", {"residency"}),
        # "appt" is an appointment, not "apps" (technology)
        (
            "cant make my appt with the PD, how do i stay in touch with mentors",
            {"professional-network"},
        ),
        # a slipped vowel: "servive" is "survive", not "service" (a loan question)
        ("how to servive residnecy", {"residency"}),
    ],
)
def test_swapped_letters_and_mistyped_everyday_words(
    matcher: Matcher, text: str, expected: set[str]
) -> None:
    """ "kidn" is "kind" (same letters), not "kids"; "overwhleming" is an everyday word."""
    match = matcher.match(text)
    assert answered(match) in expected, describe(match)


def test_a_real_word_is_not_corrected_into_another_topic(matcher: Matcher) -> None:
    """ "hanging" once became "changing" (career transitions)."""
    match = matcher.match("hanging up the stethoscope one day, what should a doc plan for")
    assert answered(match) in {"retirement", "faq-retirement"}, describe(match)


def test_everyday_words_the_guide_never_uses_do_not_sink_a_question(matcher: Matcher) -> None:
    plain = matcher.match("how do I find a mentor")
    chatty = matcher.match(
        "my nephew in lagos told me last july that I should find a mentor, how do I find one"
    )
    assert answered(plain) == answered(chatty) == "professional-network", describe(chatty)


def test_an_everyday_word_the_guide_uses_once_does_not_carry_a_question(
    matcher: Matcher,
) -> None:
    """ "land" is in one leadership phrasing ("land a faculty role"), so it looked as rare
    as a topic word."""
    match = matcher.match("people land good jobs through who they know and i know no one")
    assert answered(match) == "professional-network", describe(match)


def test_a_contraction_or_an_everyday_word_used_once_does_not_carry_a_question(
    matcher: Matcher,
) -> None:
    """ "I'll" read as "ill" (one goodbye phrasing says "i'll check back") and "someday"
    (one leadership phrasing) weighed as topic words, so this was a leadership question."""
    match = matcher.match(
        "PGY-2 here, is it weird that I'm already thinking about how I'll hang up the"
        " stethoscope someday?"
    )
    assert answered(match) in {"retirement", "faq-retirement"}, describe(match)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the transition cue (attending life) outscores the residency one (imposter)
        (
            "terrified to leave my residency nest. everyone says attending life is a whole"
            " different beast and i feel like an imposter already",
            "career-transitions",
        ),
        # the last clause asks about teaching; becoming the attending is its setting
        (
            "med students keep following me around and I want to be the attending I never"
            " had. how do I get better at teaching them?",
            "leadership-teaching",
        ),
    ],
)
def test_when_two_topic_cues_qualify_the_asked_then_the_stronger_topic_wins(
    matcher: Matcher, text: str, expected: str
) -> None:
    match = matcher.match(text)
    assert answered(match) == expected, describe(match)


def test_a_topic_cue_lifts_its_entry_over_a_linked_faq_that_is_not_its_twin(
    matcher: Matcher,
) -> None:
    """The CME FAQ links board certification (MOC), but it is not board certification's
    FAQ twin: "lifelong" made it the best, and the board-certification cue must still win."""
    match = matcher.match("board cert = lifelong thing?")
    assert answered(match) == "board-certification", describe(match)


def test_a_matched_redirect_is_a_fallback_with_its_entry(matcher: Matcher) -> None:
    match = matcher.match("do I need a J-1 waiver")
    assert match.decision == "fallback"
    assert match.entry is not None
    assert match.entry.kind == "redirect"
    assert match.candidates[0].entry_id == match.entry.id


# ----------------------------------------------------------------- shape of a Match


def _probe_questions() -> list[str]:
    data = yaml.safe_load((ROOT / "tests/data/eval.yaml").read_text(encoding="utf-8"))
    extra = ["", "hi", "hello there", "please", "hi bot", "hey hey", "residency", "what is the"]
    return extra + [str(case["q"]) for case in data]


def test_candidates_are_distinct_at_most_three_best_first_and_scored_0_to_100(
    matcher: Matcher, kb: KnowledgeBase
) -> None:
    bad = []
    for question in _probe_questions():
        match = matcher.match(question)
        ids = [c.entry_id for c in match.candidates]
        scores = [c.score for c in match.candidates]
        ok = (
            len(ids) <= 3
            and len(set(ids)) == len(ids)
            and all(i in kb.by_id for i in ids)
            and scores == sorted(scores, reverse=True)
            and all(0.0 <= s <= 100.0 for s in scores)
            and match.score == (scores[0] if scores else 0.0)
            and (match.entry is None or match.entry.id == ids[0])
            and (match.decision == "fallback" or match.entry is not None)
            and not (match.decision != "fallback" and match.entry and match.entry.is_fallback)
        )
        if not ok:
            bad.append(describe(match))
    assert bad == []


def test_the_same_question_gives_the_same_match(kb: KnowledgeBase, matcher: Matcher) -> None:
    other = Matcher(kb)
    for question in _probe_questions()[:80]:
        first = matcher.match(question)
        assert matcher.match(question) == first
        assert other.match(question) == first


def test_matching_is_the_same_in_every_process() -> None:
    """Hash randomisation must not change a decision or a score (set/dict order)."""
    script = (
        "import json, sys\n"
        "from bot.config import bundled_knowledge_dir\n"
        "from bot.knowledge import load_knowledge\n"
        "from bot.matching import Matcher\n"
        "m = Matcher(load_knowledge(bundled_knowledge_dir()))\n"
        "out = []\n"
        "for q in json.load(sys.stdin):\n"
        "    r = m.match(q)\n"
        "    out.append([r.decision, r.entry.id if r.entry else None,\n"
        "                [[c.entry_id, c.score] for c in r.candidates]])\n"
        "print(json.dumps(out))\n"
    )
    questions = json.dumps(_probe_questions())
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script],
            input=questions,
            capture_output=True,
            text=True,
            cwd=ROOT,
            env=env,
            check=True,
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


# ----------------------------------------------------------------- thresholds


def test_thresholds_from_config_change_the_decision(kb: KnowledgeBase) -> None:
    question = "residency"
    assert answered(Matcher(kb).match(question)) == "residency"
    strict = Matcher(kb, MatchingConfig(answer_threshold=100.5, clarify_threshold=31, margin=4))
    match = strict.match(question)
    assert match.decision == "clarify"
    assert match.entry is not None and match.entry.id == "residency"
    stricter = Matcher(kb, MatchingConfig(answer_threshold=100.5, clarify_threshold=100.5))
    assert stricter.match(question).decision == "fallback"
    assert stricter.match(question).entry is None


def test_a_large_margin_turns_a_close_call_into_clarify(kb: KnowledgeBase) -> None:
    default = Matcher(kb).match("how many CME credits do I need each year")
    assert default.decision == "answer"
    assert len(default.candidates) >= 2
    unsure = Matcher(kb, MatchingConfig(answer_threshold=35, clarify_threshold=31, margin=101))
    match = unsure.match("how many CME credits do I need each year")
    # two linked entries may still answer (either is right); otherwise it must ask
    if match.decision == "answer":
        best, runner_up = (kb.by_id[c.entry_id] for c in match.candidates[:2])
        assert runner_up.id in best.follow_ups or best.id in runner_up.follow_ups
    else:
        assert match.decision == "clarify"


# ----------------------------------------------------------------- no front-end imports


def test_matching_and_conversation_import_no_telegram_and_no_sqlite() -> None:
    script = (
        "import sys\n"
        "import bot.matching, bot.conversation\n"
        "bad = sorted(m for m in sys.modules\n"
        "             if m.split('.')[0] in {'telegram', 'sqlite3', '_sqlite3'})\n"
        "print(bad)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True
    )
    assert done.stdout.strip() == "[]"
