"""SMS templates: every one in every language within 2 parts, drills marked, titles cut right."""

import pytest

from notifications.replies import Intent, parse_reply
from notifications.texts import (
    KINDS,
    LANGUAGES,
    MAX_SEGMENTS,
    TEMPLATES,
    count_segments,
    kind_name,
    one_line,
    render,
    resolve_language,
)

DRILL_MARKS = {"en": "DRILL", "ru": "УЧЕНИЯ", "kk": "ЖАТТЫҒУ"}
YES_NO = {"en": ("YES", "NO"), "ru": ("ДА", "НЕТ"), "kk": ("ИӘ", "ЖОҚ")}

# A reply link as the dispatch writes it (dispatch/reply_links.py): a long PUBLIC_BASE_URL, /r/
# and a 22-character token.
REPLY_LINK = "https://dispatch.example.kz/r/" + "k3J_q9-ZtW0bXyV1aLmN2c"
# Long but realistic: what a coordinator in Almaty might type, at the limits we allow.
LONG_CYRILLIC = dict(
    code="4821",
    kind="animal_rescue",  # the longest kind name in Kazakh and Russian
    title="Пожар в многоэтажном жилом доме, эвакуация жильцов 5-9 этажей",  # 60 characters
    place="мкр. Самал-2, Медеуский район",
    distance_km=49.7,
    skill_name="Психологическая поддержка",
    lat=43.2389498,
    lon=76.8897325,
    address="ул. Желтоксан 115, подъезд 3, вход со двора",
    meeting_point="у штаба МЧС, ул. Желтоксан 115, вход со двора, спросить Ержана",
    eta_min=45,
    body="Сбор у штаба в 18:00, возьмите фонари, воду и тёплую одежду. Связь по рации, канал 5.",
    codes=["4821", "5173", "6034", "7120"],
    hours=12,
    link=REPLY_LINK,
    year_hours=1234.56,
    recent_hours=87.25,
    names="Айгерим Нурланкызы Сейткалиева, Ержан Болатович Мухамедкалиев, Дина Серикбаевна Абдрахманова",
    minutes=30,
    name="Айгерим Нурланкызы Сейткалиева",
    phone="+77011234567",
)
LONG_KAZAKH = {
    **LONG_CYRILLIC,
    "title": "Өрт: көпқабатты тұрғын үй, 5-9 қабаттағы тұрғындарды көшіру",
    "place": "Самал-2 шағын ауданы, Медеу ауд.",
    "skill_name": "Психологиялық қолдау көрсету",
    "address": "Желтоқсан к-сі 115, 3-подъезд, аула жақтан",
    "meeting_point": "ТЖМ штабы алдында, Желтоқсан к-сі 115, аула жақтан, Ержанды сұраңыз",
    "body": "Штаб алдында 18:00-де жиналамыз. Шам, су және жылы киім алыңыз. Рация, 5-арна.",
}
LONG_LATIN = {
    **LONG_CYRILLIC,
    "kind": "search_rescue",
    "title": "Missing hiker near Big Almaty Lake, last seen on the north trail",
    "place": "Big Almaty Lake, Ile-Alatau",
    "skill_name": "Mountain search and rescue",
    "address": "Ile-Alatau park entrance, Kokzhailau car park",
    "meeting_point": "the rescue post at the Kokzhailau car park, ask for Yerzhan at the gate",
    "body": "Meet at the ranger post at 18:00. Bring headlamps, water and warm clothes. Radio ch 5.",
}
SAMPLES = {"cyrillic": LONG_CYRILLIC, "kazakh": LONG_KAZAKH, "latin": LONG_LATIN}


def values_for(name: str, sample: dict, drill: bool = True) -> dict:
    spec = TEMPLATES[name]
    values = {key: sample[key] for key in spec.params + spec.optional if key != "drill"}
    if spec.has_drill:
        values["drill"] = drill
    return values


ALL = [(name, lang) for name in TEMPLATES for lang in LANGUAGES]


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("drill", [True, False])
@pytest.mark.parametrize(("name", "language"), ALL)
def test_every_template_fits_two_segments_with_long_values(name, language, drill, sample):
    text = render(name, language, **values_for(name, SAMPLES[sample], drill))
    count = count_segments(text)
    assert count.segments <= MAX_SEGMENTS, (count, text)
    assert "{" not in text and "}" not in text  # no placeholder left unfilled


def test_the_stress_alert_from_the_brief_fits_in_every_language():
    values = dict(
        code="482",
        kind="fire",
        title="Т" * 60,
        place="П" * 30,
        distance_km=49.7,
        skill_name="Психологическая поддержка",
        drill=True,
    )
    for language in LANGUAGES:
        text = render("alert", language, **values)
        assert count_segments(text).segments <= 2, text
        assert "Психологическая поддержка" in text  # the need is kept whole
        assert "49" in text


@pytest.mark.parametrize("sample", SAMPLES)
@pytest.mark.parametrize("drill", [True, False])
@pytest.mark.parametrize("language", LANGUAGES)
def test_an_alert_ends_with_its_whole_reply_link_within_two_parts(language, drill, sample):
    text = render("alert", language, **values_for("alert", SAMPLES[sample], drill))
    assert text.endswith(" " + REPLY_LINK) and text.count("https://") == 1
    assert count_segments(text).segments <= MAX_SEGMENTS, (count_segments(text), text)
    assert "4821" in text and YES_NO[language][0] in text and YES_NO[language][1] in text


def test_a_short_alert_offers_the_link_beside_the_reply_words():
    text = render(
        "alert",
        "en",
        code="517",
        kind="fire",
        title="Grass fire",
        place="Kaskelen",
        distance_km=3.25,
        skill_name=None,
        drill=False,
        link=REPLY_LINK,
    )
    assert text == f"Fire: Grass fire. Kaskelen, 3.2 km from you. Reply YES 517 / NO 517 or {REPLY_LINK}"
    assert count_segments(text).segments == 1
    ru = render(
        "alert",
        "ru",
        code="517",
        kind="flood",
        title="Подтопление",
        place="Талгар",
        distance_km=12.0,
        skill_name=None,
        drill=False,
        link=REPLY_LINK,
    )
    assert ru.endswith(f"Ответ: ДА 517 / НЕТ 517 или {REPLY_LINK}") and count_segments(ru).segments == 2


def test_the_stress_alert_with_a_link_keeps_the_link_and_the_start_of_the_need():
    values = dict(
        code="482",
        kind="fire",
        title="Т" * 60,
        place="П" * 30,
        distance_km=49.7,
        skill_name="Психологическая поддержка",
        drill=True,
        link=REPLY_LINK,
    )
    for language in LANGUAGES:
        text = render("alert", language, **values)
        count = count_segments(text)
        assert count.segments <= 2 and count.units >= 130, (count, text)  # the room is used, not wasted
        assert text.endswith(REPLY_LINK) and "Психологическая" in text and "49" in text and "482" in text


@pytest.mark.parametrize(
    ("name", "language"), [(name, lang) for name, spec in TEMPLATES.items() if spec.has_drill for lang in LANGUAGES]
)
def test_drill_marking(name, language):
    drill_text = render(name, language, **values_for(name, LONG_CYRILLIC, drill=True))
    real_text = render(name, language, **values_for(name, LONG_CYRILLIC, drill=False))
    assert drill_text.startswith(DRILL_MARKS[language])
    assert not any(mark in real_text for mark in DRILL_MARKS.values())


def test_incident_templates_all_take_code_and_drill():
    incident = {
        "alert",
        "confirmation",
        "stand_down",
        "standby",
        "declined",
        "closed",
        "cancelled",
        "broadcast",
        "place_changed",
    }
    for name in incident:
        assert {"code", "drill"} <= set(TEMPLATES[name].params), name
    assert set(TEMPLATES) == incident | {
        "help",
        "opted_out",
        "opted_in",
        "unknown_number",
        "which_incident",
        "hint",
        "busy",
        "available",
        "no_pending",
        "arrived",
        "left",
        "safe",
        "safe_thanks",
        "not_on_scene",
        "not_arrived",
        "roll_call",
        "welfare_reminder",
        "help_on_scene",
        "hours",
        "coordinator_welfare",
        "coordinator_help",
        # A warning's draft has no reply code yet: the notice names the incident by kind and title.
        "standby_notice",
    }


@pytest.mark.parametrize("language", LANGUAGES)
def test_alert_says_how_to_answer_and_the_answer_parses(language):
    text = render(
        "alert",
        language,
        code="517",
        kind="flood",
        title="Подтопление улиц",
        place="Талгар",
        distance_km=12.0,
        skill_name=None,
        drill=False,
    )
    yes, no = YES_NO[language]
    assert f"{yes} 517" in text and f"{no} 517" in text
    assert parse_reply(f"{yes} 517") == parse_reply(f"{yes} 517")  # stable
    assert (parse_reply(f"{yes} 517").intent, parse_reply(f"{yes} 517").code) == (Intent.ACCEPT, "517")
    assert (parse_reply(f"{no} 517").intent, parse_reply(f"{no} 517").code) == (Intent.DECLINE, "517")
    assert "12 к" in text or "12 km" in text  # 12.0 is written as 12
    assert kind_name("flood", language) in text


def test_alert_holds_no_exact_location_and_skill_is_optional():
    text = render(
        "alert",
        "en",
        code="517",
        kind="fire",
        title="Grass fire",
        place="Kaskelen",
        distance_km=3.25,
        skill_name=None,
        drill=False,
    )
    assert text == "Fire: Grass fire. Kaskelen, 3.2 km from you. Reply YES 517 / NO 517"
    assert "Skill" not in text


def test_decimal_comma_in_kazakh_and_russian():
    for language in ("ru", "kk"):
        text = render(
            "alert",
            language,
            code="517",
            kind="fire",
            title="Пожар",
            place="Талгар",
            distance_km=49.7,
            skill_name=None,
            drill=False,
        )
        assert "49,7 км" in text


def test_confirmation_gives_coordinates_address_need_and_thanks():
    text = render(
        "confirmation",
        "ru",
        code="482",
        title="Пожар",
        lat=51.1694,
        lon=71.4491,
        address="пр. Абая 10",
        skill_name="Первая помощь",
        eta_min=20,
        drill=False,
    )
    assert "51.16940,71.44910" in text
    assert "пр. Абая 10" in text and "Первая помощь" in text and "20 мин" in text
    assert "Спасибо" in text or "спасибо" in text
    bare = render("confirmation", "en", code="482", title="Fire", lat=51.1694, lon=71.4491, drill=False)
    assert bare == "482 Fire: thank you, we count on you! Location: 51.16940,71.44910."


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_200_character_title_is_cut_with_an_ellipsis(language):
    title = "Крупный лесной пожар " * 10  # 210 characters
    text = render(
        "alert",
        language,
        code="4821",
        kind="fire",
        title=title.strip(),
        place="Бурабай",
        distance_km=7.5,
        skill_name="Бензопила",
        drill=True,
    )
    assert count_segments(text).segments <= 2
    assert "Крупный лесной пожар" in text and "…" in text
    assert "Бурабай" in text and "Бензопила" in text and "4821" in text  # short values kept
    assert "… " in text or "…." not in text  # the ellipsis does not collide with the full stop


def test_a_latin_alert_stays_gsm7_and_cuts_with_three_dots():
    title = "Large forest fire spreading towards the village " * 6
    text = render(
        "alert",
        "en",
        code="4821",
        kind="fire",
        title=title,
        place="Burabay",
        distance_km=7.5,
        skill_name="Chainsaw",
        drill=True,
    )
    count = count_segments(text)
    assert count.encoding == "GSM-7" and count.segments <= 2
    assert "..." in text and "…" not in text
    assert 160 < count.units <= 306  # the room of two GSM-7 parts is used, not wasted


def test_a_cut_title_keeps_as_much_as_fits():
    title = "Пожар в многоэтажном жилом доме, эвакуация жильцов 5-9 этажей"
    text = render("stand_down", "ru", code="4821", title=title * 2, drill=True)
    assert count_segments(text).units >= 125  # close to the 134-unit budget
    assert text.startswith("УЧЕНИЯ. 4821 Пожар в многоэтажном жилом доме")


def test_which_incident_lists_the_codes():
    assert render("which_incident", "en", codes=["482", "517"]) == (
        "You have several call-outs. Reply YES 482 or YES 517."
    )
    assert "ДА 482, ДА 517 или ДА 603" in render("which_incident", "ru", codes=["482", "517", "603"])
    assert "ИӘ 482 немесе ИӘ 517" in render("which_incident", "kk", codes=["482", "517"])


HELP_COMMANDS = {
    "en": [
        ("YES 482", Intent.ACCEPT),
        ("NO 482", Intent.DECLINE),
        ("BUSY 3", Intent.BUSY),
        ("AVAILABLE", Intent.AVAILABLE),
        ("STOP", Intent.STOP),
    ],
    "ru": [
        ("ДА 482", Intent.ACCEPT),
        ("НЕТ 482", Intent.DECLINE),
        ("ЗАНЯТ 3", Intent.BUSY),
        ("СВОБОДЕН", Intent.AVAILABLE),
        ("СТОП", Intent.STOP),
    ],
    "kk": [
        ("ИӘ 482", Intent.ACCEPT),
        ("ЖОҚ 482", Intent.DECLINE),
        ("БОС ЕМЕСПІН 3", Intent.BUSY),
        ("БОСПЫН", Intent.AVAILABLE),
        ("СТОП", Intent.STOP),
    ],
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_help_quotes_words_the_parser_understands(language):
    text = render("help", language)
    for command, intent in HELP_COMMANDS[language]:
        assert command in text
        assert parse_reply(command).intent is intent, command
    busy = parse_reply(HELP_COMMANDS[language][2][0])
    assert busy.busy_hours == 3


@pytest.mark.parametrize("language", LANGUAGES)
def test_replies_quoted_in_other_texts_parse(language):
    start_word = {"en": "START", "ru": "СТАРТ", "kk": "СТАРТ"}[language]
    assert start_word in render("opted_out", language)
    assert parse_reply(start_word).intent is Intent.START
    available_word = HELP_COMMANDS[language][3][0]
    assert available_word in render("busy", language, hours=3)
    assert available_word in render("busy", language)
    assert "3" in render("busy", language, hours=3)


def test_kind_names():
    for language in LANGUAGES:
        names = [kind_name(kind, language) for kind in KINDS]
        assert all(names) and len(set(names)) == len(KINDS)
        assert kind_name("volcano", language) == kind_name("other", language)
    assert kind_name("fire", "kk") == "Өрт"
    assert kind_name("fire", "ru") == "Пожар"
    assert set(KINDS) == {
        "fire",
        "flood",
        "earthquake",
        "missing_person",
        "search_rescue",
        "storm",
        "animal_rescue",
        "other",
    }


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("kk", "kk"),
        ("ru", "ru"),
        ("en", "en"),
        ("RU", "ru"),
        ("ru-KZ", "ru"),
        ("kk_KZ", "kk"),
        ("de", "en"),
        ("", "en"),
        (None, "en"),
    ],
)
def test_unknown_languages_fall_back_to_english(given, used):
    assert resolve_language(given) == used
    assert render("available", given) == render("available", used)


def test_values_are_checked():
    with pytest.raises(TypeError, match="missing"):
        render("declined", "en", code="482")  # drill must be said explicitly
    with pytest.raises(TypeError, match="unexpected"):
        render("help", "en", code="482")
    with pytest.raises(KeyError):
        render("no_such_template", "en")


def test_broadcast_prefixes_the_code_and_never_cuts():
    body = "Сбор у штаба в 18:00. " * 3
    text = render("broadcast", "ru", code="482", body=body, drill=False)
    assert text == f"482: {body.strip()}"  # whole, on one line


FORGING = "Fire\r\nDRILL over: reply STOP\x00\tnow\u2028x"


@pytest.mark.parametrize(("name", "language"), ALL)
def test_outside_text_cannot_add_lines_or_control_characters_to_an_sms(name, language):
    sample = {
        **LONG_LATIN,
        "title": FORGING,
        "place": FORGING,
        "address": FORGING,
        "body": FORGING,
        "skill_name": FORGING,
    }
    text = render(name, language, **values_for(name, sample))
    assert not any(ch in text for ch in "\r\n\t\x00\u2028"), repr(text)


def test_one_line_collapses_whitespace_and_control_characters():
    assert one_line(FORGING) == "Fire DRILL over: reply STOP now x"
    assert one_line("  Пожар  в\nдоме ") == "Пожар в доме"


SCENE_WORDS = {
    "en": ("DONE", "SAFE", "ARRIVED"),
    "ru": ("ЗАКОНЧИЛ", "В ПОРЯДКЕ", "ПРИБЫЛ"),
    "kk": ("БІТІРДІМ", "АМАНМЫН", "КЕЛДІМ"),
}


@pytest.mark.parametrize("language", LANGUAGES)
def test_on_scene_texts_quote_words_the_parser_reads(language):
    done, safe, arrived = SCENE_WORDS[language]
    assert done in render("arrived", language, code="482", drill=False)
    assert f"{safe} 482" in render("left", language, code="482", drill=False)
    assert f"{safe} 482" in render("roll_call", language, code="482", drill=False)
    assert f"{safe} 482" in render("welfare_reminder", language, code="482", title="Flood", drill=False)
    assert f"{arrived} 482" in render("not_arrived", language, code="482", drill=False)
    assert parse_reply(done).intent is Intent.DONE
    assert parse_reply(f"{safe} 482").intent is Intent.SAFE and parse_reply(f"{safe} 482").code == "482"
    assert parse_reply(f"{arrived} 482").intent is Intent.ARRIVED


def test_hours_are_written_with_two_decimals_at_most():
    assert "12.5 h this year, 0.25 h" in render("hours", "en", year_hours=12.5, recent_hours=0.25)
    assert "1234,56 ч" in render("hours", "ru", year_hours=1234.56, recent_hours=3)
    assert "биыл 3 сағ" in render("hours", "kk", year_hours=3.0, recent_hours=0)


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_standby_notice_says_no_answer_is_needed_and_asks_for_none(language):
    text = render("standby_notice", language, kind="flood", title="Паводок на Ишиме", place="Астана", drill=False)
    no_reply = {"en": "No need to reply", "ru": "Отвечать не нужно", "kk": "Жауап берудің қажеті жоқ"}
    assert no_reply[language] in text and kind_name("flood", language) in text and "Астана" in text
    yes, no = YES_NO[language]
    assert yes not in text.split() and no not in text.split()
    assert count_segments(text).segments <= MAX_SEGMENTS


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_place_change_gives_the_new_coordinates_and_the_meeting_point(language):
    text = render(
        "place_changed",
        language,
        code="517",
        title="Grass fire",
        lat=43.2389498,
        lon=76.8897325,
        meeting_point="School 12 gate",
        drill=False,
    )
    assert text.startswith("517 Grass fire") and "43.23895,76.88973" in text and "School 12 gate" in text
    bare = render("place_changed", language, code="517", title="Grass fire", lat=43.2, lon=76.8, drill=False)
    assert "43.20000,76.80000" in bare and "None" not in bare
