"""What the bot says in a Telegram chat besides the SMS templates: linking, hints, refusals of a
button press, and the line an ended call-out is rewritten with.

A chat that is not linked yet has no volunteer, so no known language: what it is told is in all
three languages, Kazakh first. A linked volunteer is told in their own language.
"""

from __future__ import annotations

from notifications.texts import resolve_language

__all__ = ["ENDINGS", "in_all_languages", "phrase", "with_ending"]

_PHRASES: dict[str, dict[str, str]] = {
    "linked": {
        "kk": "Дайын: бұл Telegram чаты ерікті ретіндегі тіркеуіңізге қосылды. Шақырулар осында "
        "батырмалармен келеді. Telegram хабарларын тоқтату үшін STOP жіберіңіз (SMS келе береді).",
        "ru": "Готово: этот чат Telegram связан с вашей анкетой добровольца. Вызовы будут приходить "
        "сюда с кнопками. Чтобы отключить сообщения в Telegram, отправьте STOP (SMS останутся).",
        "en": "Done: this Telegram chat is now linked to your volunteer record. Call-outs will arrive "
        "here with buttons. Send STOP to stop Telegram messages (SMS stay on).",
    },
    "coordinator_linked": {
        "kk": "Дайын: бұл Telegram чаты үйлестірушінің есептік жазбасына қосылды. Сіздің оқиғаларыңыз "
        "бойынша АМАНМЫН жауабы кешіккені және КӨМЕК сұралғаны туралы хабарлар осында келеді.",
        "ru": "Готово: этот чат Telegram связан с вашей учётной записью координатора. Сюда будут "
        "приходить оповещения о просроченных ответах В ПОРЯДКЕ и о просьбах о ПОМОЩИ по вашим вызовам.",
        "en": "Done: this Telegram chat is now linked to your coordinator account. Alerts about overdue "
        "SAFE answers and HELP requests on your incidents will arrive here.",
    },
    "code_invalid": {
        "kk": "Бұл сілтеме енді жарамайды (пайдаланылған, мерзімі өткен немесе қате). Үйлестірушіден жаңасын сұраңыз.",
        "ru": "Эта ссылка больше не действует (уже использована, истекла или неверна). Попросите у координатора новую.",
        "en": "This link no longer works (already used, expired or mistyped). Ask your coordinator for a new one.",
    },
    "not_linked": {
        "kk": "Бұл чат ерікті тіркеуіне қосылмаған. Үйлестіруші берген сілтемені ашыңыз немесе төмендегі "
        "батырмамен телефон нөміріңізді бөлісіңіз.",
        "ru": "Этот чат не связан с анкетой добровольца. Откройте ссылку от координатора или поделитесь "
        "своим номером телефона кнопкой ниже.",
        "en": "This chat is not linked to a volunteer. Open the link your coordinator gave you, or share "
        "your phone number with the button below.",
    },
    "contact_not_own": {
        "kk": "Басқа біреудің контактісін емес, өз нөміріңізді төмендегі батырмамен бөлісіңіз.",
        "ru": "Поделитесь своим номером кнопкой ниже, а не чужим контактом.",
        "en": "Please share your own number with the button below, not someone else's contact.",
    },
    "contact_unknown": {
        "kk": "Бұл нөмір еріктілер тізілімінде жоқ. Тіркелу үшін үйлестірушіге хабарласыңыз.",
        "ru": "Этого номера нет в реестре добровольцев. Обратитесь к координатору, чтобы вас зарегистрировали.",
        "en": "This number is not in the volunteer registry. Ask your coordinator to register you.",
    },
    "tg_opted_out": {
        "kk": "Telegram хабарлары тоқтатылды. SMS келе береді. Қайта қосу үшін START жіберіңіз.",
        "ru": "Сообщения в Telegram отключены. SMS будут приходить как раньше. Чтобы включить снова, отправьте START.",
        "en": "Telegram messages are stopped. SMS stay on. Send START to turn them back on here.",
    },
    "tg_opted_in": {
        "kk": "Telegram хабарлары қайта қосылды.",
        "ru": "Сообщения в Telegram снова включены.",
        "en": "Telegram messages are on again.",
    },
    # Answers to a button press (answerCallbackQuery: at most 200 characters).
    "press_accepted": {"kk": "Қабылданды. Рақмет!", "ru": "Принято. Спасибо!", "en": "Accepted. Thank you!"},
    "press_declined": {"kk": "Бас тартылды.", "ru": "Отказ принят.", "en": "Declined."},
    "press_not_yours": {
        "kk": "Бұл батырма сізге арналмаған.",
        "ru": "Эта кнопка не для вас.",
        "en": "This button is not for you.",
    },
    "press_ended": {
        "kk": "Бұл шақыру аяқталды, ештеңе өзгерген жоқ.",
        "ru": "Этот вызов уже завершён, ничего не изменилось.",
        "en": "This call-out has ended; nothing changed.",
    },
    "press_unknown": {
        "kk": "Бұл батырма енді жұмыс істемейді.",
        "ru": "Эта кнопка больше не работает.",
        "en": "This button no longer works.",
    },
}

# The line under an ended call-out, by how it ended (its buttons are taken away with it).
ENDINGS: dict[str, dict[str, str]] = {
    "accepted": {"kk": "✅ Сіз қабылдадыңыз.", "ru": "✅ Вы приняли вызов.", "en": "✅ You accepted."},
    "declined": {"kk": "Сіз бас тарттыңыз.", "ru": "Вы отказались.", "en": "You declined."},
    "stood_down": {
        "kk": "Қажет емес: адамдар табылды.",
        "ru": "Отбой: люди уже найдены.",
        "en": "Stood down: enough people have answered.",
    },
    "expired": {"kk": "Жауап беру уақыты өтті.", "ru": "Время ответа истекло.", "en": "The time to answer ran out."},
    "closed": {"kk": "Оқиға жабылды.", "ru": "Происшествие закрыто.", "en": "The incident is closed."},
    "cancelled": {"kk": "Оқиға тоқтатылды.", "ru": "Происшествие отменено.", "en": "The incident was cancelled."},
}
_ALL_LANGUAGES = ("kk", "ru", "en")


def phrase(key: str, language: str | None) -> str:
    return _PHRASES[key][resolve_language(language)]


def in_all_languages(key: str) -> str:
    """For a chat with no volunteer yet: the phrase in Kazakh, Russian and English."""
    return "\n\n".join(_PHRASES[key][lang] for lang in _ALL_LANGUAGES)


def with_ending(callout_text: str, ending: str, language: str | None) -> str:
    """The call-out as it is rewritten when it ends: its text, then what happened."""
    line = ENDINGS.get(ending, ENDINGS["expired"])[resolve_language(language)]
    return f"{callout_text}\n\n— {line}"
