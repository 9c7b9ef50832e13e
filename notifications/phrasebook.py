"""The wording of every SMS we send, in Kazakh (Cyrillic), Russian and English.

notifications.texts assembles it, marks drills and fits the 2-part budget; the reply words quoted
here are ones notifications.replies reads (tests check both)."""

# Cyrillic makes an SMS UCS-2 (67 characters a part), so Russian and Kazakh are kept terse.

from __future__ import annotations

KIND_NAMES: dict[str, dict[str, str]] = {
    "en": {
        "fire": "Fire",
        "flood": "Flood",
        "earthquake": "Earthquake",
        "missing_person": "Missing person",
        "search_rescue": "Search and rescue",
        "storm": "Storm",
        "animal_rescue": "Animal rescue",
        "other": "Incident",
    },
    "ru": {
        "fire": "Пожар",
        "flood": "Наводнение",
        "earthquake": "Землетрясение",
        "missing_person": "Пропал человек",
        "search_rescue": "Поиск и спасение",
        "storm": "Буря",
        "animal_rescue": "Спасение животных",
        "other": "Происшествие",
    },
    "kk": {
        "fire": "Өрт",
        "flood": "Су тасқыны",
        "earthquake": "Жер сілкінісі",
        "missing_person": "Адам жоғалды",
        "search_rescue": "Іздестіру-құтқару",
        "storm": "Дауыл",
        "animal_rescue": "Жануарларды құтқару",
        "other": "Оқиға",
    },
}

# A tuple holds wordings from the fullest to the tersest: the fullest that fits 2 parts without
# cutting any value is sent; failing that a middle one with values cut, and only then the tersest.
# The alert's tersest wording (no labels, YES/NO together) is for a call-out with a reply link.
# {options} pieces of which_incident are joined with ", " and the last with `or`.
PHRASES: dict[str, dict[str, str | tuple[str, ...]]] = {
    "en": {
        "drill": "DRILL. ",
        "or": " or ",
        "alert": (
            "{kind}: {title}. {place}, {distance} km from you.{skill} Reply YES {code} / NO {code}",
            "{kind}: {title}. {place}, {distance} km.{skill} YES {code} / NO {code}",
            "{kind}: {title}. {place}, {distance} km.{skill} YES/NO {code}",
        ),
        "alert_skill": (" Skill: {skill}.", " Skill: {skill}.", " {skill}."),
        "alert_link": (" or {link}", " {link}"),
        "confirmation": (
            "{code} {title}: thank you, we count on you! Location: {coords}{address}.{skill}{eta}",
            "{code} {title}. Thank you! {coords}{address}.{skill}{eta}",
        ),
        "confirmation_address": " ({address})",
        "confirmation_skill": " Needed: {skill}.",
        "confirmation_eta": " ETA ~{eta} min.",
        "stand_down": "{code} {title}: all places are filled. Thank you, no need to come.",
        "standby": "{code}: all places are already filled. Thank you! You are on standby, we will text you if needed.",
        "declined": "{code}: got it, thank you for answering.",
        "closed": "{code} {title}: the call-out is closed. Thank you to everyone who helped!",
        "cancelled": "{code} {title}: call-out cancelled, no need to come. If you are on the way,"
        " please turn back. Thank you!",
        "broadcast": "{code}: {body}",
        "help": "Reply YES 482 to go (482 is the call-out code) or NO 482. BUSY 3: no call-outs"
        " for 3 h. AVAILABLE: back on. STOP: no more SMS.",
        "opted_out": "You will get no more call-out SMS. Reply START to subscribe again.",
        "opted_in": "You will get volunteer call-outs again. Reply HELP for help, STOP to unsubscribe.",
        "unknown_number": "This number is not registered as a volunteer. Please contact your coordinator.",
        "which_incident": "You have several call-outs. Reply {options}.",
        "which_incident_option": "YES {code}",
        "hint": "Sorry, we did not understand. Reply YES or NO with the call-out code, e.g. YES 482. HELP for help.",
        "busy_hours": "OK, no call-outs for {hours} h. Reply AVAILABLE to be back sooner.",
        "busy": "OK, no call-outs until you reply AVAILABLE.",
        "available": "Welcome back! You will get call-outs again.",
        "no_pending": "You have no call-out waiting for an answer right now. Thank you!",
        "arrived": "{code}: you are on scene, thank you. Reply DONE when you leave, HELP if you need help.",
        "left": "{code}: thank you for your help! Reply SAFE {code} once you are safely back.",
        "safe": "{code}: thank you, we are glad you are safe.",
        "safe_thanks": "Thank you for letting us know you are safe.",
        "not_on_scene": "You have no accepted call-out to report on. Accept one first: YES with its code, e.g. YES 482.",
        "not_arrived": "{code}: you have not reported arriving yet. Reply ARRIVED {code} when you are on scene.",
        "roll_call": "{code} ROLL CALL: reply SAFE {code} now if you are safe, HELP if you need help.",
        "welfare_reminder": "{code} {title}: the call-out has ended. Are you safe? Reply SAFE {code}, or HELP if you"
        " need help.",
        "help_on_scene": "{code}: your coordinators have been alerted and will contact you. If a life is in danger,"
        " call 112.",
        "hours": "Your recorded volunteer hours: {year} h this year, {recent} h in the last 30 days. Thank you!",
        "coordinator_welfare": "{code} {title}: no SAFE from {names} {minutes} min after the end. Please check"
        " on them.",
        "coordinator_help": "{code} {title}: HELP from {name} ({phone}) on scene. Contact them now.",
        "standby_notice": (
            "{kind} warning: {title}. {place}. Please be ready: we may call on you soon. No need to reply.",
            "{kind}: {title}. {place}. Be ready, we may call on you soon. No reply needed.",
        ),
        "place_changed": (
            "{code} {title}: the place has changed. Go to {coords}.{meeting} Thank you!",
            "{code} {title}: new place {coords}.{meeting}",
        ),
        "place_changed_meeting": " Meeting point: {meeting}.",
    },
    "ru": {
        "drill": "УЧЕНИЯ. ",
        "or": " или ",
        "alert": (
            "{kind}: {title}. {place}, {distance} км от вас.{skill} Ответ: ДА {code} / НЕТ {code}",
            "{kind}: {title}. {place}, {distance} км.{skill} ДА {code} / НЕТ {code}",
            "{kind}: {title}. {place}, {distance} км.{skill} ДА/НЕТ {code}",
        ),
        "alert_skill": (" Навык: {skill}.", " Навык: {skill}.", " {skill}."),
        "alert_link": (" или {link}", " {link}"),
        "confirmation": (
            "{code} {title}: спасибо, ждём вас! Место: {coords}{address}.{skill}{eta}",
            "{code} {title}. Спасибо! {coords}{address}.{skill}{eta}",
        ),
        "confirmation_address": " ({address})",
        "confirmation_skill": " Нужно: {skill}.",
        "confirmation_eta": " Прибытие ~{eta} мин.",
        "stand_down": "{code} {title}: все места заняты. Спасибо, приезжать не нужно.",
        "standby": "{code}: все места уже заняты. Спасибо! Вы в резерве — напишем, если понадобитесь.",
        "declined": "{code}: понятно, спасибо за ответ.",
        "closed": "{code} {title}: вызов закрыт. Спасибо всем, кто помогал!",
        "cancelled": "{code} {title}: вызов отменён, приезжать не нужно. Если вы в пути, возвращайтесь. Спасибо!",
        "broadcast": "{code}: {body}",
        "help": "ДА 482 — еду (482 — код вызова), НЕТ 482 — не могу. ЗАНЯТ 3 — пауза на 3 ч."
        " СВОБОДЕН — снова на связи. СТОП — отписка.",
        "opted_out": "Вы отписаны от SMS-вызовов. Чтобы вернуться, отправьте СТАРТ.",
        "opted_in": "Вы снова получаете SMS-вызовы. Справка: ПОМОЩЬ, отписка: СТОП.",
        "unknown_number": "Этого номера нет в списке волонтёров. Обратитесь к координатору.",
        "which_incident": "У вас несколько вызовов. Ответьте {options}.",
        "which_incident_option": "ДА {code}",
        "hint": "Ответ не понят. Напишите ДА или НЕТ и код вызова, например: ДА 482. Справка: ПОМОЩЬ.",
        "busy_hours": "Хорошо, не беспокоим {hours} ч. Напишите СВОБОДЕН, чтобы вернуться раньше.",
        "busy": "Хорошо, не беспокоим, пока не напишете СВОБОДЕН.",
        "available": "Отлично, вы снова получаете вызовы.",
        "no_pending": "Сейчас нет вызовов, ждущих вашего ответа. Спасибо!",
        "arrived": "{code}: вы на месте, спасибо. Уходя, напишите ЗАКОНЧИЛ; нужна помощь — ПОМОЩЬ.",
        "left": "{code}: спасибо за помощь! Когда будете в безопасности, напишите В ПОРЯДКЕ {code}.",
        "safe": "{code}: спасибо, рады, что вы в порядке.",
        "safe_thanks": "Спасибо, что сообщили, что вы в порядке.",
        "not_on_scene": "У вас нет принятого вызова. Сначала ответьте ДА и код вызова, например: ДА 482.",
        "not_arrived": "{code}: вы ещё не отметили прибытие. На месте напишите ПРИБЫЛ {code}.",
        "roll_call": "{code} ПЕРЕКЛИЧКА: если вы в порядке, ответьте В ПОРЯДКЕ {code}. Нужна помощь — ПОМОЩЬ.",
        "welfare_reminder": "{code} {title}: вызов завершён. Вы в безопасности? Ответьте В ПОРЯДКЕ {code};"
        " нужна помощь — ПОМОЩЬ.",
        "help_on_scene": "{code}: координаторы оповещены и свяжутся с вами. При угрозе жизни звоните 112.",
        "hours": "Ваши учтённые часы волонтёрства: {year} ч в этом году, {recent} ч за 30 дней. Спасибо!",
        "coordinator_welfare": "{code} {title}: нет ответа В ПОРЯДКЕ от {names} через {minutes} мин после"
        " окончания. Проверьте их.",
        "coordinator_help": "{code} {title}: {name} ({phone}) просит ПОМОЩЬ на месте. Свяжитесь сейчас.",
        "standby_notice": (
            "Предупреждение: {kind}. {title}. {place}. Будьте готовы: возможно, скоро позовём. Отвечать не нужно.",
            "{kind}: {title}. {place}. Будьте готовы, возможно, позовём. Ответ не нужен.",
        ),
        "place_changed": (
            "{code} {title}: место изменилось. Новое место: {coords}.{meeting} Спасибо!",
            "{code} {title}: новое место {coords}.{meeting}",
        ),
        "place_changed_meeting": " Сбор: {meeting}.",
    },
    "kk": {
        "drill": "ЖАТТЫҒУ. ",
        "or": " немесе ",
        "alert": (
            "{kind}: {title}. {place}, сізден {distance} км.{skill} Жауап: ИӘ {code} / ЖОҚ {code}",
            "{kind}: {title}. {place}, {distance} км.{skill} ИӘ {code} / ЖОҚ {code}",
            "{kind}: {title}. {place}, {distance} км.{skill} ИӘ/ЖОҚ {code}",
        ),
        "alert_skill": (" Дағды: {skill}.", " Дағды: {skill}.", " {skill}."),
        "alert_link": (" немесе {link}", " {link}"),
        "confirmation": (
            "{code} {title}: рақмет, сізді күтеміз! Орны: {coords}{address}.{skill}{eta}",
            "{code} {title}. Рақмет! {coords}{address}.{skill}{eta}",
        ),
        "confirmation_address": " ({address})",
        "confirmation_skill": " Қажет: {skill}.",
        "confirmation_eta": " Келу ~{eta} мин.",
        "stand_down": "{code} {title}: барлық орын толды. Рақмет, келудің қажеті жоқ.",
        "standby": "{code}: барлық орын толып қалды. Рақмет! Сіз резервтесіз — қажет болса, хабарласамыз.",
        "declined": "{code}: түсінікті, жауабыңызға рақмет.",
        "closed": "{code} {title}: шақыру жабылды. Көмектескендердің бәріне рақмет!",
        "cancelled": "{code} {title}: шақыру болдырылмады, келудің қажеті жоқ. Жолда болсаңыз, кері қайтыңыз. Рақмет!",
        "broadcast": "{code}: {body}",
        "help": "ИӘ 482 — барамын (482 — шақыру коды), ЖОҚ 482 — бара алмаймын."
        " БОС ЕМЕСПІН 3 — 3 сағат үзіліс. БОСПЫН — дайынмын. СТОП — бас тарту.",
        "opted_out": "Сіз SMS-шақырулардан бас тарттыңыз. Қайта жазылу үшін СТАРТ деп жіберіңіз.",
        "opted_in": "Сізге қайтадан SMS-шақырулар келеді. Анықтама: КӨМЕК, бас тарту: СТОП.",
        "unknown_number": "Бұл нөмір еріктілер тізімінде жоқ. Үйлестірушіге хабарласыңыз.",
        "which_incident": "Сізде бірнеше шақыру бар. {options} деп жауап беріңіз.",
        "which_incident_option": "ИӘ {code}",
        "hint": "Жауап түсініксіз. ИӘ немесе ЖОҚ деп, шақыру кодымен жазыңыз, мысалы: ИӘ 482. Анықтама: КӨМЕК.",
        "busy_hours": "Түсінікті, {hours} сағат мазаламаймыз. Ертерек оралу үшін БОСПЫН деп жазыңыз.",
        "busy": "Түсінікті, БОСПЫН деп жазғанша мазаламаймыз.",
        "available": "Жақсы, сізге қайтадан шақыру келеді.",
        "no_pending": "Қазір жауап күтіп тұрған шақыру жоқ. Рақмет!",
        "arrived": "{code}: сіз орындасыз, рақмет. Кеткенде БІТІРДІМ деп жазыңыз; көмек керек болса — КӨМЕК.",
        "left": "{code}: көмегіңізге рақмет! Аман-есен оралғанда АМАНМЫН {code} деп жазыңыз.",
        "safe": "{code}: рақмет, аман екеніңізге қуаныштымыз.",
        "safe_thanks": "Аман екеніңізді хабарлағаныңызға рақмет.",
        "not_on_scene": "Сізде қабылданған шақыру жоқ. Алдымен ИӘ деп, кодымен жауап беріңіз, мысалы: ИӘ 482.",
        "not_arrived": "{code}: сіз әлі келгеніңізді белгілемедіңіз. Орнына жеткенде КЕЛДІМ {code} деп жазыңыз.",
        "roll_call": "{code} ТҮГЕНДЕУ: аман болсаңыз, АМАНМЫН {code} деп жауап беріңіз. Көмек керек болса — КӨМЕК.",
        "welfare_reminder": "{code} {title}: шақыру аяқталды. Аман-есенсіз бе? АМАНМЫН {code} деп жауап беріңіз;"
        " көмек керек болса — КӨМЕК.",
        "help_on_scene": "{code}: үйлестірушілерге хабар берілді, олар сізбен байланысады. Өмірге қауіп төнсе,"
        " 112-ге қоңырау шалыңыз.",
        "hours": "Есепке алынған еріктілік сағаттарыңыз: биыл {year} сағ, соңғы 30 күнде {recent} сағ. Рақмет!",
        "coordinator_welfare": "{code} {title}: аяқталғаннан {minutes} мин өтсе де {names} АМАНМЫН деп жауап"
        " бермеді. Хабарласыңыз.",
        "coordinator_help": "{code} {title}: {name} ({phone}) орнында КӨМЕК сұрайды. Қазір хабарласыңыз.",
        "standby_notice": (
            "Ескерту: {kind}. {title}. {place}. Дайын болыңыз: жақында шақыруымыз мүмкін. Жауап берудің қажеті жоқ.",
            "{kind}: {title}. {place}. Дайын болыңыз, шақыруымыз мүмкін. Жауап қажет емес.",
        ),
        "place_changed": (
            "{code} {title}: орын өзгерді. Жаңа орын: {coords}.{meeting} Рақмет!",
            "{code} {title}: жаңа орын {coords}.{meeting}",
        ),
        "place_changed_meeting": " Жиналу орны: {meeting}.",
    },
}
