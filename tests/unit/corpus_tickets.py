"""A small Russian corpus for the text audits: good tickets no audit may flag, bad ones each
audit must flag. Written to resemble real Nemo/WebSky tickets, including the traps
(fare penalties that are not fines, supplier timeouts that are not complaints)."""

from __future__ import annotations

from policies.text_audits import Attachment, TicketText

LINK = "https://agency.example.ru/booking/order/"

# (id, ticket): clean on priority, completeness, tone and every client comment.
GOOD_TICKETS: list[tuple[str, TicketText]] = [
    ("display-bug-with-everything", TicketText(
        tracker="Баг", priority="Средний",
        subject="Не отображается багажный тариф в результатах поиска",
        description=(
            "Под учетной записью agent_ivanova ищем рейсы MOW-LED на 12.05, поиск 48213377.\n"
            "Ожидали увидеть тариф «Базовый с багажом», в выдаче его нет, хотя в выгрузке он есть.\n"
            f"Ссылка: {LINK}48213377\nБраузер: Chrome 120."),
    )),
    ("double-charge-is-critical", TicketText(
        tracker="Баг", priority="Критический",
        subject="Двойное списание при оплате картой",
        description=(
            "Заказ 1234567, PNR QX7LMN: клиенту дважды списали деньги за один билет.\n"
            "Логин кассира: kassa_01. Страница оплаты: https://agency.example.ru/pay/1234567"),
    )),
    ("site-down-is-blocker", TicketText(
        tracker="Баг", priority="Блокер",
        subject="Сайт полностью недоступен",
        description=(
            "С 09:40 сайт не открывается, на всех страницах ошибка 502. Система полностью не работает.\n"
            "Проверяли под логином admin_ops, https://agency.example.ru/"),
    )),
    ("fare-penalty-consultation", TicketText(
        tracker="Обсуждение", priority="Низкий",
        subject="Как настроить штраф за возврат для тарифов Аэрофлота?",
        description=(
            "Подскажите, пожалуйста, где в админке задается штраф при обмене и возврате, "
            "и можно ли показывать пассажиру правила тарифа со штрафом до оплаты."),
    )),
    ("settings-task-with-terminal-screenshot", TicketText(
        tracker="Задача", priority="Средний",
        subject="Изменить наценку для субагентов",
        description=(
            "Просим поменять сервисный сбор для группы «Субагенты» с 300 на 450 рублей. "
            "В терминале Sabre сбор уже 450, скриншот приложили."),
        attachments=[Attachment(filename="sabre_fees.PNG", content_type=None)],
    )),
    ("typo-is-low", TicketText(
        tracker="Баг", priority="Низкий",
        subject="Опечатка в письме-подтверждении",
        description=(
            "В письме по заказу 7712345 написано «Подтверждение брони» с опечаткой «Подтвердение». "
            f"Письмо отправлено под учетной записью mail_robot, страница заказа: {LINK}7712345"),
    )),
    ("partial-outage-is-high-with-gds-link", TicketText(
        tracker="Баг", priority="Высокий",
        subject="У всех агентов не работает фильтр по авиакомпаниям",
        description=(
            "Поиск работает, но фильтр по перевозчику в выдаче ничего не фильтрует. Поиск 99887766, "
            "логин agent_petrov. В Amadeus рейс SU 1234 есть: https://i.imgur.com/a1b2c3.png\n"
            f"{LINK}99887766"),
    )),
    ("data-in-custom-fields", TicketText(
        tracker="Баг", priority="Средний",
        subject="Кнопка «Оплатить» перекрывает сумму заказа",
        description="На мобильной версии кнопка перекрывает итоговую сумму, пассажиры пишут в чат.",
        custom_fields={
            "Номера заказов": "5566778",
            "Учётная запись": "kassa2",
            "Ссылка на страницу": "https://agency.example.ru/pay",
            "Версия браузера": "Firefox 128",
        },
    )),
    ("data-given-later-with-calm-comments", TicketText(
        tracker="Баг", priority="Средний",
        subject="Не приходит маршрутная квитанция",
        description=f"По заказу 3344556 пассажир не получил квитанцию. {LINK}3344556",
        client_comments=[
            "Действия выполнялись под логином test_agent.",
            "От поставщика нет ответа на запрос квитанции, это нормально?",
            "Проверили: ошибка до сих пор не воспроизводится, уже два дня работает нормально.",
            "Спасибо, можно закрывать.",
        ],
    )),
    ("acronyms-are-not-shouting", TicketText(
        tracker="Баг", priority="Средний",
        subject="PNR QWERTY в GDS SABRE не синхронизируется",
        description=(
            "После выписки в GDS статус заказа 2233445 остается «Забронирован». "
            "Под учетной записью ops_team, ссылка https://agency.example.ru/orders/2233445. "
            "Скриншот терминала: https://prnt.sc/AbC123"),
    )),
]

# (id, ticket, suggested priority, a fragment that must be quoted in the evidence)
BAD_PRIORITY: list[tuple[str, TicketText, str, str]] = [
    ("blocker-but-search-works", TicketText(
        priority="Блокер", subject="Не выводятся багажные тарифы",
        description="Поиск работает, но тарифы с багажом не показываются."),
     "Высокий", "Поиск работает, но"),
    ("blocker-but-system-works-money", TicketText(
        priority="Блокер", subject="Двойная оплата",
        description="Система работает, но клиентам дважды списали деньги за билеты."),
     "Критический", "дважды списали"),
    ("low-but-money-lost", TicketText(
        priority="Низкий", subject="Деньги списались, билета нет",
        description="После оплаты списались деньги, а билет не выписан. Заказ 4455667."),
     "Критический", "списались деньги"),
    ("medium-but-adm", TicketText(
        priority="Средний", subject="ADM от авиакомпании",
        description="Авиакомпания выставила нам ADM за неверные таксы, грозит штраф по другим билетам."),
     "Критический", "ADM"),
    ("low-but-fines", TicketText(
        priority="Низкий", subject="Штрафы за неверно оформленные билеты",
        description="Из-за ошибки в выписке получаем штрафы."),
     "Критический", "Штрафы"),
    ("critical-but-cosmetic", TicketText(
        priority="Критический", subject="Съехала кнопка на главной",
        description="Съехала кнопка «Найти» на главной странице, и цвет шапки не тот, что в макете."),
     "Низкий", "Съехала"),
    ("blocker-but-typo", TicketText(
        priority="Блокер", subject="Опечатка в шрифте заголовка",
        description="В заголовке опечатка и шрифт другой."),
     "Низкий", "Опечатка"),
    ("high-but-site-down", TicketText(
        priority="Высокий", subject="Сайт не открывается",
        description="Сайт не открывается ни у кого, вся система недоступна."),
     "Блокер", "Сайт не открывается"),
]

# (id, ticket, ids of the checks that must be reported missing)
BAD_COMPLETENESS: list[tuple[str, TicketText, list[str]]] = [
    ("bug-without-anything", TicketText(
        tracker="Баг", priority="Средний", subject="Ошибка при бронировании",
        description="При бронировании выдает ошибку, помогите."),
     ["order_numbers", "account", "page_link"]),
    ("display-bug-without-browser", TicketText(
        tracker="Баг", priority="Низкий", subject="Кнопка «Забронировать» съехала вниз",
        description=f"Заказ 5544332, логин agent_k. {LINK}5544332"),
     ["browser_version"]),
    ("gds-compare-without-screenshot", TicketText(
        tracker="Баг", priority="Средний", subject="Цена отличается от терминала",
        description=(f"В терминале Sabre цена 15000, а на сайте 17000. Поиск 77665544, "
                     f"под учетной записью agent_s. {LINK}77665544"),
        attachments=[Attachment(filename="log.txt", content_type="text/plain")]),
     ["gds_screenshots"]),
    ("task-with-pult-without-image", TicketText(
        tracker="Задача", priority="Средний", subject="Настроить тарифы как в пульте",
        description="В пульте Amadeus видим другие тарифы, просим настроить так же.",
        attachments=[Attachment(filename="screen.pdf", content_type="application/pdf")]),
     ["gds_screenshots"]),
    ("placeholder-in-field", TicketText(
        tracker="Баг", priority="Средний", subject="Не сохраняются данные пассажира",
        description="Данные пассажира не сохраняются.",
        custom_fields={"Номера заказов": "нет", "Учетная запись": "agent_m",
                       "Ссылка на страницу": ["https://agency.example.ru/passengers"]}),
     ["order_numbers"]),
]

# (id, text, a fragment of the evidence)
BAD_TONE: list[tuple[str, str, str]] = [
    ("regulation-aaa", "ААА!!! Все сломалось!", "ААА!!!"),
    ("regulation-pressed-something", "Мы чего-то там нажали, а тут такое выскочило!!!", "выскочило!!!"),
    ("all-caps", "ПОЧЕМУ НЕ РАБОТАЕТ ОПЛАТА КАРТОЙ? ИСПРАВЬТЕ СРОЧНО", "ИСПРАВЬТЕ СРОЧНО"),
    ("caps-and-ones", "СРОЧНО ПОЧИНИТЕ ПОИСК!!!111", "!!!111"),
]

CALM_TEXTS: list[str] = [
    "Ваша система пишет XXX вместо YYY!",
    "Добрый день! Подскажите, пожалуйста, как выгрузить отчет?!",
    "OK",
    "Ошибка в PNR ABC123 и заказе 1234567, GDS SABRE, см. https://agency.example.ru/ORDERS/ABC",
]

DELAY_COMPLAINTS: list[str] = [
    "Сколько можно ждать ответа?",
    "Уже 3 дня нет ответа по заказу 123456.",
    "Когда будет ответ? Это жалоба на задержку.",
    "Пожаловаться на задержку",
    "Проблема до сих пор не решена.",
    "Ждём ответа уже неделю, никто не отвечает.",
    "Проблема не решена уже 5 дней.",
    "Уже второй день не можем выписать билеты по этому заказу.",
    "Вы нас игнорируете?",
]

NOT_DELAY_COMPLAINTS: list[str] = [
    "Спасибо, все работает.",
    "От поставщика нет ответа на запрос тарифов.",
    "Нет ответа от сервера GDS по таймауту, прикладываем лог.",
    "Сервер поставщика не отвечает с 10:00.",
    "Ошибка до сих пор не воспроизводится, можно закрывать.",
    "Уже неделю работает стабильно.",
    "Прикладываем скриншот терминала.",
    "Ответ получили, спасибо за помощь.",
    "Уже месяц пользуемся новой версией, все отлично.",
    "Поставщик до сих пор не подтвердил бронь, ждем его.",
]
