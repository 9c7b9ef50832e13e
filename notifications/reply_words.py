"""The words a volunteer may text back: the SMS contract's keywords and the synonyms we trust.

Spelled as people write them: matching folds case, Kazakh letters and look-alike Latin/Cyrillic
letters first (notifications.reply_lexer.fold), so "жок", "комек", "иа" need no entries."""

from __future__ import annotations

# --- The contract: these are the words help texts quote. -------------------------------
ACCEPT_WORDS: tuple[str, ...] = ("YES", "Y", "1", "ДА", "ИӘ")
DECLINE_WORDS: tuple[str, ...] = ("NO", "N", "2", "НЕТ", "ЖОҚ")
STOP_WORDS: tuple[str, ...] = ("STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "СТОП")
START_WORDS: tuple[str, ...] = ("START", "UNSTOP", "СТАРТ")
HELP_WORDS: tuple[str, ...] = ("HELP", "INFO", "ПОМОЩЬ", "КӨМЕК")
BUSY_WORDS: tuple[str, ...] = ("BUSY",)
AVAILABLE_WORDS: tuple[str, ...] = ("AVAILABLE",)
# On scene (after an accept), and the volunteer's own hours. The first word of each language is
# the one texts quote: ARRIVED / ПРИБЫЛ / КЕЛДІМ, DONE / ЗАКОНЧИЛ / БІТІРДІМ, SAFE / В ПОРЯДКЕ /
# АМАНМЫН, HOURS / ЧАСЫ / САҒАТ.
ARRIVED_WORDS: tuple[str, ...] = ("ARRIVED", "ПРИБЫЛ", "КЕЛДІМ")
DONE_WORDS: tuple[str, ...] = ("DONE", "ЗАКОНЧИЛ", "БІТІРДІМ")
SAFE_WORDS: tuple[str, ...] = ("SAFE", "В ПОРЯДКЕ", "АМАНМЫН")
HOURS_WORDS: tuple[str, ...] = ("HOURS", "ЧАСЫ", "САҒАТ")

# --- Synonyms we judged safe. ---------------------------------------------------------
# A keyword: leads the reply like YES does; the rest of the message may be free text.
# "ия" is a common spelling of "иә" on phones without Kazakh letters ("иа" comes from folding).
ACCEPT_SYNONYMS: tuple[str, ...] = ("ИЯ", "YEAH", "YEP", "YUP", "YEA")
# "неа" is colloquial Russian "nope". "не" alone is left out: it is mostly a fragment.
DECLINE_SYNONYMS: tuple[str, ...] = ("NOPE", "NAH", "НЕА")

# Their synonyms. Unlike the words above, on-scene words and HOURS are read only when they are the
# whole message (with at most a greeting, a subject such as "я" or "мен", and the incident
# code): "прибыл 482", "Я в порядке", but never inside a sentence. So "сағат" or "часы" as time
# units in an accept ("барамын 1 сағат") are read as before.
ARRIVED_SYNONYMS: tuple[str, ...] = (
    "ON SCENE",
    "ON SITE",
    "ПРИБЫЛА",
    "ПРИБЫЛИ",
    "НА МЕСТЕ",
    "ЖЕТТІМ",
    "ЖЕТТІК",
    "КЕЛДІК",
)
DONE_SYNONYMS: tuple[str, ...] = (
    "LEFT",
    "FINISHED",
    "ЗАКОНЧИЛА",
    "ЗАКОНЧИЛИ",
    "УШЁЛ",
    "УШЛА",
    "БІТІРДІК",
    "КЕТТІМ",
)
SAFE_SYNONYMS: tuple[str, ...] = ("ALL SAFE", "ЦЕЛ", "ЦЕЛА", "ВСЁ В ПОРЯДКЕ", "АМАНБЫЗ", "АМАН")
HOURS_SYNONYMS: tuple[str, ...] = ("MY HOURS", "МОИ ЧАСЫ", "САҒАТТАРЫМ", "САҒАТЫМ")

# Phrases that mean "I am coming" without a yes-word. Unlike keywords they are read only
# when the WHOLE message is made of them, fillers, numbers and time units: "еду 15 мин"
# is an accept, "еду домой" (going home) is not.
ACCEPT_PHRASES: tuple[str, ...] = (
    "еду",
    "выезжаю",
    "выехал",
    "выехала",
    "буду",
    "иду",
    "приеду",
    "приду",
    "в пути",
    "барамын",
    "келемін",
    "шықтым",
    "жолдамын",
    "coming",
    "on my way",
    "omw",
    "en route",
)
# Phrases that mean "I can't come", read on the same whole-message terms, so that
# "не могу найти адрес" (can't find the address) sent while on the way is NOT a decline.
# The negated accept phrases are listed so that "нет, не буду" is not seen as a conflict.
DECLINE_PHRASES: tuple[str, ...] = (
    "не могу",
    "не смогу",
    "не приеду",
    "не приду",
    "не поеду",
    "не буду",
    "не еду",
    "не получится",
    "алмаймын",
    "алмаймыз",
    "бармаймын",
    "келмеймін",
    "cant",
    "cannot",
    "can not",
    "wont",
    "unable",
    "not coming",
)
# Extra BUSY / AVAILABLE words, read when they lead the message.
# "бос емеспін" = "I am not free"; "қолым бос емес" = "my hands are not free" (I'm busy).
BUSY_SYNONYMS: tuple[str, ...] = (
    "UNAVAILABLE",
    "ЗАНЯТ",
    "ЗАНЯТА",
    "ЗАНЯТЫ",
    "НЕДОСТУПЕН",
    "НЕДОСТУПНА",
    "БОС ЕМЕСПІН",
    "БОС ЕМЕСПИН",
    "БОС ЕМЕС",
    "ҚОЛЫМ БОС ЕМЕС",
)
AVAILABLE_SYNONYMS: tuple[str, ...] = (
    "СВОБОДЕН",
    "СВОБОДНА",
    "ДОСТУПЕН",
    "ДОСТУПНА",
    "БОСПЫН",
    "ҚОЛЫМ БОС",
)

# --- Words that change how the rest is read. -------------------------------------------
# Any of these after a yes-word makes the reply UNKNOWN: "yes, but not today", "да, не сейчас".
NEGATIONS: tuple[str, ...] = (
    "not",
    "dont",
    "doesnt",
    "never",
    "не",
    "ни",
    "нельзя",
    "емес",
)
# Hedges: "yes, maybe", "да, наверное", "иә, мүмкін" are not commitments.
UNCERTAIN: tuple[str, ...] = (
    "maybe",
    "perhaps",
    "probably",
    "possibly",
    "might",
    "if",
    "unless",
    "try",
    "not sure",
    "наверное",
    "может",
    "возможно",
    "если",
    "попробую",
    "постараюсь",
    "вряд ли",
    "мүмкін",
    "шығар",
    "егер",
    "тырысамын",
)
# Subjects that may come before BUSY / AVAILABLE: "Я занят", "Мен бос емеспін", "I'm available".
SUBJECT_FILLERS: tuple[str, ...] = (
    "i",
    "im",
    "am",
    "я",
    "мен",
    "now",
    "today",
    "сейчас",
    "сегодня",
    "қазір",
    "бүгін",
)
# Words that may come before the keyword without changing it: "Здравствуйте, да 482".
LEADING_FILLERS: tuple[str, ...] = (
    "ok",
    "okay",
    "hi",
    "hello",
    "ок",
    "окей",
    "хорошо",
    "ладно",
    "привет",
    "здравствуйте",
    "сәлем",
    "салем",
    "салам",
    "жарайды",
    "жақсы",
)
# Subjects and courtesy words allowed around a decline phrase: "Извините, сегодня не могу".
DECLINE_FILLERS: tuple[str, ...] = (
    "i",
    "im",
    "sorry",
    "today",
    "tonight",
    "now",
    "right",
    "come",
    "go",
    "make",
    "it",
    "there",
    "to",
    "this",
    "time",
    "unfortunately",
    "я",
    "извините",
    "извини",
    "простите",
    "прости",
    "сорри",
    "сегодня",
    "сейчас",
    "к",
    "сожалению",
    "увы",
    "приехать",
    "прийти",
    "поехать",
    "выехать",
    "мен",
    "кешіріңіз",
    "кешір",
    "бүгін",
    "қазір",
    "өкінішке",
    "орай",
    "бара",
    "келе",
    # the usual reasons given in the same breath: "Не смогу, болею", "Can't, at work"
    "sick",
    "ill",
    "working",
    "work",
    "at",
    "болею",
    "заболел",
    "заболела",
    "работаю",
    "на",
    "работе",
    "ауырып",
    "жатырмын",
    "жұмыста",
    "жұмыстамын",
)
# Words allowed around an accept phrase: "Я уже еду, буду через 15 мин".
ACCEPT_FILLERS: tuple[str, ...] = (
    "i",
    "im",
    "am",
    "already",
    "now",
    "there",
    "in",
    "be",
    "will",
    "ill",
    "я",
    "уже",
    "сейчас",
    "там",
    "через",
    "примерно",
    "около",
    "мен",
    "қазір",
    "кейін",
    "шамамен",
)
# A leading word glued to the next one by a space only changes meaning for these keywords:
# "no idea", "no problem", "да ладно", "нет проблем". The next word must be on this list
# (or be separated by punctuation: "Нет, ..."), otherwise the reply is UNKNOWN.
TIGHT_FOLLOWERS: dict[str, tuple[str, ...]] = {
    "no": (
        "i",
        "im",
        "sorry",
        "thanks",
        "thank",
        "cant",
        "cannot",
        "can",
        "not",
        "way",
        "busy",
        "working",
        "today",
        "tonight",
        "now",
        "unfortunately",
        "wont",
    ),
    "нет": (
        "не",
        "я",
        "извините",
        "извини",
        "простите",
        "прости",
        "спасибо",
        "сегодня",
        "сейчас",
        "к",
        "увы",
        "занят",
        "занята",
        "болею",
        "работаю",
        "на",
        "в",
        "сорри",
    ),
    "да": (
        "еду",
        "буду",
        "выезжаю",
        "иду",
        "приеду",
        "приду",
        "конечно",
        "могу",
        "смогу",
        "готов",
        "готова",
        "уже",
        "я",
        "да",
        "через",
    ),
}
# Single characters are typos as often as answers: "y", "n", "1", "2" must stand alone or be
# followed by numbers or punctuation ("1 min" is a quantity, not an answer).
STRICT_KEYWORDS: tuple[str, ...] = ("y", "n", "1", "2")

# --- Time units. Matched as word prefixes after folding, so "минуттан", "часов" count. ---
MINUTE_UNITS: tuple[str, ...] = ("m", "min", "mins", "minute", "minutes", "мин", "м", "минут")
MINUTE_PREFIXES: tuple[str, ...] = ("min", "мин")
HOUR_UNITS: tuple[str, ...] = ("h", "hr", "hrs", "hour", "hours", "ч", "час", "сағ", "сағат")
HOUR_PREFIXES: tuple[str, ...] = ("hour", "час", "сағ")
DAY_UNITS: tuple[str, ...] = ("d", "day", "days", "дн", "день", "дня", "дней", "сутки", "күн")
# Number words, only read right before a time unit ("пять минут", "жиырма бес минут").
NUMBER_WORDS: dict[str, int] = {
    "one": 1,
    "two": 2,
    "three": 3,
    "five": 5,
    "ten": 10,
    "fifteen": 15,
    "twenty": 20,
    "thirty": 30,
    "forty": 40,
    "fifty": 50,
    "an": 1,
    "a": 1,
    "один": 1,
    "одну": 1,
    "одна": 1,
    "два": 2,
    "две": 2,
    "три": 3,
    "пять": 5,
    "десять": 10,
    "пятнадцать": 15,
    "двадцать": 20,
    "тридцать": 30,
    "сорок": 40,
    "бір": 1,
    "екі": 2,
    "үш": 3,
    "бес": 5,
    "он": 10,
    "жиырма": 20,
    "отыз": 30,
    "қырық": 40,
}
# Whole-hour words that need no number: "через час", "полчаса", "жарты сағат".
HALF_HOUR_WORDS: tuple[str, ...] = ("полчаса", "half", "жарты")
