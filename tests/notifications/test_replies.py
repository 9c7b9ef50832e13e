"""parse_reply against realistic replies in Kazakh, Russian and English, and properties."""

import re
import unicodedata

import pytest
from hypothesis import assume, example, given, settings
from hypothesis import strategies as st

from notifications import reply_words
from notifications.replies import (
    ACCEPT_WORDS,
    AVAILABLE_WORDS,
    BUSY_WORDS,
    DECLINE_WORDS,
    HELP_WORDS,
    START_WORDS,
    STOP_WORDS,
    Intent,
    Reply,
    parse_reply,
)

A, D, U = Intent.ACCEPT, Intent.DECLINE, Intent.UNKNOWN

# (text, intent, code, eta_min)
ACCEPT_DECLINE_TABLE = [
    # --- the contract's examples
    ("да, еду 15 мин", A, None, 15),
    ("Yes 482 - 20 min", A, "482", 20),
    ("ИӘ", A, None, None),
    ("иә 482", A, "482", None),
    ("жоқ", D, None, None),
    ("Нет 482", D, "482", None),
    ("YES 482 20", A, "482", 20),
    ("y", A, None, None),
    ("1", A, None, None),
    ("2", D, None, None),
    # --- English
    ("Yes", A, None, None),
    ("YES!!!", A, None, None),
    ("yes.", A, None, None),
    ("Y 482", A, "482", None),
    ("yes 4821", A, "4821", None),
    ("YES482", A, "482", None),
    ("Yes, 1h", A, None, 60),
    ("yes 482 1 hour", A, "482", 60),
    ("yes in half an hour", A, None, 30),
    ("Yes I'm on my way, 10 mins", A, None, 10),
    ("Yes, 5-10 min", A, None, 10),  # a range: plan for the later end
    ("Yeah, coming", A, None, None),
    ("yep 517", A, "517", None),
    ("ok yes", A, None, None),
    ("482 yes", A, "482", None),
    ("yes 482 517", A, "482", None),  # a second code is not an 8.6 h ETA
    ("Yes at 18:30", A, None, None),  # a clock time is not an ETA
    ("On my way, 15 min", A, None, 15),
    ("omw", A, None, None),
    ("no", D, None, None),
    ("NO 482", D, "482", None),
    ("N", D, None, None),
    ("No, sorry", D, None, None),
    ("no sorry 482", D, "482", None),
    ("nope", D, None, None),
    ("I can't", D, None, None),
    ("Sorry, I can't make it today", D, None, None),
    # --- Russian
    ("Да", A, None, None),
    ("ДА 482", A, "482", None),
    ("да 482 через 30 минут", A, "482", 30),
    ("Да, буду через 1 час", A, None, 60),
    ("Да 1,5 часа", A, None, 90),
    ("Да, через полчаса", A, None, 30),
    ("да через час", A, None, 60),
    ("да, пять минут", A, None, 5),
    ("Да, 20м", A, None, 20),
    ("Здравствуйте, да 482", A, "482", None),
    ("Да конечно", A, None, None),
    ("ДA", A, None, None),  # Cyrillic Д with a Latin A
    ("Еду", A, None, None),
    ("Выезжаю, буду через 20 минут", A, None, 20),
    ("Уже еду", A, None, None),
    ("еду, 2 часа", A, None, 120),
    ("Нет", D, None, None),
    ("нет, не могу", D, None, None),
    ("Нет, я на работе", D, None, None),
    ("нет не могу 482", D, "482", None),
    ("Нет, не буду", D, None, None),
    ("не могу", D, None, None),
    ("Извините, сегодня не могу", D, None, None),
    ("не смогу, болею", D, None, None),
    ("неа", D, None, None),
    # --- Kazakh (and Kazakh typed without Kazakh letters)
    ("Иә 517", A, "517", None),
    ("иа", A, None, None),
    ("Ия 517", A, "517", None),
    ("Иә, 30 минуттан кейін", A, None, 30),
    ("иә 1 сағ", A, None, 60),
    ("ИӘ 482, 40 минутта жетемін", A, "482", 40),
    ("Барамын", A, None, None),
    ("Келемін 20 минутта", A, None, 20),
    ("келемiн", A, None, None),  # Latin i, as many Kazakh phones type і
    ("Жиырма бес минутта барамын", A, None, 25),
    ("ЖОҚ 482", D, "482", None),
    ("Жок", D, None, None),
    ("жоқ, бүгін бара алмаймын", D, None, None),
    ("Бара алмаймын", D, None, None),
    ("Кешіріңіз, келе алмаймын", D, None, None),
]

# Must never be read as an accept (UNKNOWN unless another intent is plainly right).
NOT_ACCEPT_TABLE = [
    ("Yesterday I was sick", U),
    ("no idea", U),
    ("not yes", U),
    ("да нет наверное", U),
    ("is it real?", U),
    ("нет, да", U),
    ("10", U),
    ("yes and no", U),
    ("stopwatch", U),
    ("", U),
    ("   ", U),
    ("👍", U),
    ("😀🔥", U),
    ("yes?", U),
    ("Да?", U),
    ("Да, наверное", U),
    ("Yes maybe", U),
    ("Yes, if I get a car", U),
    ("yes but not today", U),
    ("no problem", U),
    ("Нет проблем", U),
    ("Да ладно", U),
    ("да ну", U),
    ("Да не могу", U),
    ("1 min", U),
    ("2 минуты", U),
    ("12", U),
    ("y not", U),
    ("еду домой", U),  # "going home"
    ("Не могу найти адрес", U),  # en route and lost: neither accept nor decline
    ("Где это?", U),
    ("ok", U),
    ("спасибо", U),
    ("Иә, мүмкін", U),
    ("Не знаю", U),
    ("yes no", U),
    ("maybe", U),
    ("Yes, no car though", U),
    ("stop sending me fire alerts", U),  # not the bare keyword: Twilio would not opt out
    ("HELP there is a fire in my yard", U),
    ("yes stop", U),
    ("I can't", D),
    ("не могу", D),
    ("нет, еду домой", U),
]

COMMAND_TABLE = [
    ("STOP", Intent.STOP),
    ("Stop.", Intent.STOP),
    ("стоп", Intent.STOP),
    ("СТОП!", Intent.STOP),
    ("unsubscribe", Intent.STOP),
    ("Cancel", Intent.STOP),
    ("end", Intent.STOP),
    ("QUIT", Intent.STOP),
    ("stopall", Intent.STOP),
    ("START", Intent.START),
    ("старт", Intent.START),
    ("Unstop", Intent.START),
    ("help", Intent.HELP),
    ("Help?", Intent.HELP),
    ("INFO", Intent.HELP),
    ("помощь", Intent.HELP),
    ("көмек", Intent.HELP),
    ("Комек", Intent.HELP),
    ("AVAILABLE", Intent.AVAILABLE),
    ("available", Intent.AVAILABLE),
    ("Свободен", Intent.AVAILABLE),
    ("я свободна", Intent.AVAILABLE),
    ("доступен", Intent.AVAILABLE),
    ("Боспын", Intent.AVAILABLE),
    ("not available", Intent.UNKNOWN),
    ("available but not today", Intent.UNKNOWN),
]

# (text, busy_hours, code)
BUSY_TABLE = [
    ("BUSY 3", 3, None),
    ("busy", None, None),
    ("Busy 3h", 3, None),
    ("busy 3 hours", 3, None),
    ("busy 2 days", 48, None),
    ("busy 30 min", 1, None),
    ("BUSY 482", None, "482"),  # too many hours: it names an incident
    ("busy 120", 120, None),
    ("Занят 2 часа", 2, None),
    ("я занят", None, None),
    ("занята до вечера", None, None),
    ("unavailable", None, None),
    ("Мен бос емеспін 3 сағат", 3, None),
    ("бос емеспін", None, None),
    ("Қолым бос емес", None, None),
]


@pytest.mark.parametrize(("text", "intent", "code", "eta_min"), ACCEPT_DECLINE_TABLE)
def test_accepts_and_declines(text, intent, code, eta_min):
    reply = parse_reply(text)
    assert (reply.intent, reply.code, reply.eta_min) == (intent, code, eta_min)
    assert reply.text == text


@pytest.mark.parametrize(("text", "intent"), NOT_ACCEPT_TABLE)
def test_replies_that_are_not_accepts(text, intent):
    assert parse_reply(text).intent is intent


@pytest.mark.parametrize(("text", "intent"), COMMAND_TABLE)
def test_commands(text, intent):
    assert parse_reply(text).intent is intent


@pytest.mark.parametrize(("text", "hours", "code"), BUSY_TABLE)
def test_busy(text, hours, code):
    reply = parse_reply(text)
    assert (reply.intent, reply.busy_hours, reply.code) == (Intent.BUSY, hours, code)


def test_the_table_is_big_and_covers_three_languages():
    texts = [row[0] for row in ACCEPT_DECLINE_TABLE + NOT_ACCEPT_TABLE + COMMAND_TABLE + BUSY_TABLE]
    assert len(texts) >= 60
    assert any(ch in "әғқңөұүһі" for text in texts for ch in text.lower())
    assert any("а" <= ch <= "я" for text in texts for ch in text.lower())


def test_reply_is_frozen():
    reply = parse_reply("yes")
    with pytest.raises(AttributeError):
        reply.intent = Intent.DECLINE  # type: ignore[misc]
    assert reply == Reply(Intent.ACCEPT, text="yes")


def test_keyword_lists_are_the_contract():
    assert ACCEPT_WORDS == ("YES", "Y", "1", "ДА", "ИӘ")
    assert DECLINE_WORDS == ("NO", "N", "2", "НЕТ", "ЖОҚ")
    assert STOP_WORDS == ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "СТОП")
    assert START_WORDS == ("START", "UNSTOP", "СТАРТ")
    assert HELP_WORDS == ("HELP", "INFO", "ПОМОЩЬ", "КӨМЕК")
    assert BUSY_WORDS == ("BUSY",) and AVAILABLE_WORDS == ("AVAILABLE",)


@pytest.mark.parametrize(
    ("words", "intent"),
    [
        (ACCEPT_WORDS + reply_words.ACCEPT_SYNONYMS, Intent.ACCEPT),
        (DECLINE_WORDS + reply_words.DECLINE_SYNONYMS, Intent.DECLINE),
        (STOP_WORDS, Intent.STOP),
        (START_WORDS, Intent.START),
        (HELP_WORDS, Intent.HELP),
        (BUSY_WORDS + reply_words.BUSY_SYNONYMS, Intent.BUSY),
        (AVAILABLE_WORDS + reply_words.AVAILABLE_SYNONYMS, Intent.AVAILABLE),
    ],
)
def test_every_listed_word_alone_in_any_case(words, intent):
    for word in words:
        for variant in (word, word.lower(), word.capitalize(), f" {word}. "):
            assert parse_reply(variant).intent is intent, variant


# --- properties -------------------------------------------------------------------------
_KAZAKH = str.maketrans("әғқңөұүһіё", "агкноуухие")
_LAT_TO_CYR = str.maketrans("aeopcxykmthbi", "аеорсхукмтнві")
_CYR_TO_LAT = str.maketrans("аеорсхукмтнві", "aeopcxykmthbi")


def _words(text: str) -> set[str]:
    """Words of text in every spelling the parser could read them as (written independently)."""
    text = unicodedata.normalize("NFKC", text)
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf").casefold()
    text = re.sub(r"['’`ʼ]", "", text)
    found = set()
    for word in re.findall(r"[^\W\d_]+|\d+", text):
        for variant in (word, word.translate(_LAT_TO_CYR), word.translate(_CYR_TO_LAT)):
            found.add(variant.translate(_KAZAKH))
            found.add(variant.translate(_KAZAKH).translate(_CYR_TO_LAT))
    return found


ACCEPTING_WORDS = {
    word.casefold().translate(_KAZAKH)
    for phrase in ACCEPT_WORDS + reply_words.ACCEPT_SYNONYMS + reply_words.ACCEPT_PHRASES
    for word in phrase.split()
}


def _has_accept_word(text: str) -> bool:
    return bool(_words(text) & ACCEPTING_WORDS)


@settings(max_examples=400, deadline=None)
@given(st.text())
def test_never_raises_and_stays_sane(text):
    reply = parse_reply(text)
    assert isinstance(reply.intent, Intent)
    assert reply.text == text
    assert reply.code is None or (reply.code.isdigit() and 3 <= len(reply.code) <= 4)
    assert reply.eta_min is None or 0 < reply.eta_min <= 24 * 60
    assert reply.busy_hours is None or 0 < reply.busy_hours <= 30 * 24
    if reply.intent is not Intent.ACCEPT:
        assert reply.eta_min is None


ALPHABET = list("abcdeinorstwyабвгдеёжзийклмнопрстуфхцчшщъыьэюяәғқңөұүһі0123456789 ,.!?-:'’🔥👍")


@settings(max_examples=600, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=40))
@example("1’0")  # once read as "1" (accept) and "0"
@example("1'0")
def test_no_accept_without_an_accept_word(text):
    if not _has_accept_word(text):
        assert parse_reply(text).intent is not Intent.ACCEPT


NOISE = [
    "no",
    "нет",
    "жоқ",
    "жок",
    "2",
    "n",
    "nope",
    "не",
    "not",
    "maybe",
    "наверное",
    "stop",
    "busy",
    "yesterday",
    "yesss",
    "dash",
    "дай",
    "даже",
    "дом",
    "ехал",
    "идея",
    "idea",
    "10",
    "482",
    "15",
    "мин",
    "min",
    "h",
    "час",
    "stopwatch",
    "help",
    "иәм",
    "ияс",
    "sick",
    "car",
    "fire",
    "🔥",
    "?",
    "!",
    ",",
    ".",
    "-",
    "I",
    "can't",
    "cannot",
    "sorry",
    "извините",
    "алмаймын",
    "problem",
    "проблем",
    "ладно",
    "ну",
    "emergency",
    "Әке",
    "бос",
    "емес",
]


@settings(max_examples=600, deadline=None)
@given(st.lists(st.sampled_from(NOISE), max_size=8), st.sampled_from([" ", "", ", ", "  "]))
def test_sentences_of_non_accept_words_are_never_accepts(words, separator):
    text = separator.join(words)
    assume(not _has_accept_word(text))  # glued words can spell one: "n" + "o"
    assert parse_reply(text).intent is not Intent.ACCEPT


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["yes", "да", "иә", "y", "1"]),
    st.sampled_from(["no", "нет", "жоқ", "не могу", "cant", "maybe", "наверное", "not"]),
    st.sampled_from([" ", ", ", " but ", " и ", "... "]),
)
def test_accept_with_a_contradiction_or_hedge_is_never_an_accept(yes, doubt, glue):
    assert parse_reply(f"{yes}{glue}{doubt}").intent is not Intent.ACCEPT


# -- on scene and HOURS: whole-message words -------------------------------------------------

SCENE_TABLE = [
    ("ARRIVED", Intent.ARRIVED, None),
    ("arrived 482", Intent.ARRIVED, "482"),
    ("482 Прибыл", Intent.ARRIVED, "482"),
    ("Я на месте", Intent.ARRIVED, None),
    ("уже на месте!", Intent.ARRIVED, None),
    ("Келдім", Intent.ARRIVED, None),
    ("келдим 4821", Intent.ARRIVED, "4821"),
    ("Мен жеттім", Intent.ARRIVED, None),
    ("DONE", Intent.DONE, None),
    ("Закончил.", Intent.DONE, None),
    ("ушёл", Intent.DONE, None),
    ("бітірдім 482", Intent.DONE, "482"),
    ("кеттім", Intent.DONE, None),
    ("SAFE", Intent.SAFE, None),
    ("I am safe", Intent.SAFE, None),
    ("Я в порядке", Intent.SAFE, None),
    ("всё в порядке 482", Intent.SAFE, "482"),
    ("Аманмын", Intent.SAFE, None),
    ("аманмын", Intent.SAFE, None),
    ("HOURS", Intent.HOURS, None),
    ("мои часы", Intent.HOURS, None),
    ("Сағат", Intent.HOURS, None),
    ("сагат", Intent.HOURS, None),
]


@pytest.mark.parametrize(("text", "intent", "code"), SCENE_TABLE)
def test_on_scene_words(text, intent, code):
    reply = parse_reply(text)
    assert (reply.intent, reply.code) == (intent, code)


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        # Inside a sentence the words keep their old reading (or none).
        ("барамын 1 сағат", Intent.ACCEPT),
        ("ДА 482, буду на месте через 10 мин", Intent.ACCEPT),
        ("еду, 2 часа", Intent.ACCEPT),
        ("ЗАНЯТ 3 часа", Intent.BUSY),
        ("done?", Intent.UNKNOWN),
        ("прибыл?", Intent.UNKNOWN),
        ("DONE 482 517", Intent.UNKNOWN),
        ("я не на месте", Intent.UNKNOWN),
        ("arrived home safe", Intent.UNKNOWN),
        ("safe and sound, going home now", Intent.UNKNOWN),
        ("HELP", Intent.HELP),
    ],
)
def test_on_scene_words_only_as_the_whole_message(text, intent):
    assert parse_reply(text).intent is intent
