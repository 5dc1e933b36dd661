"""What the ward panel's small display says — pure Python: the agent's state in, words out.

:class:`PanelView` is everything the nurse's display shows (README, "The
ward panel"): the ward, vacant / occupied / blocked / held, whether the
broker has every change, the last action, a refusal's reason (for
REFUSAL_SECONDS after it), and whether the count is due for a check.
:func:`view_of` reads it off a running :class:`~agent.app.WardAgent`;
:func:`lines` says it in one language (English or Bengali), for
:mod:`agent.screen` to draw.  Nothing here touches luma, pygame or the pins.
"""

from dataclasses import dataclass

REFUSAL_SECONDS = 20.0   # how long a refusal's reason stays on the display

PHRASES = {
    "vacant": ("vacant", "খালি"),
    "occupied": ("occupied {n}", "ভর্তি {n}"),
    "blocked": ("blocked {n}", "বন্ধ {n}"),
    "held": ("held {n}", "সংরক্ষিত {n}"),
    "sent": ("all sent", "সব পাঠানো"),
    "unsent": ("NOT SENT", "পাঠানো বাকি"),
    "offline": ("NO BROKER", "ব্রোকার নেই"),
    "recovering": ("recovering the count", "গণনা উদ্ধার হচ্ছে"),
    "checked": ("checked {m} min ago", "মেলানো {m} মিনিট আগে"),
    "check due": ("CHECK THE COUNT", "গণনা মিলিয়ে দেখুন"),
    "refused": ("refused: {reason}", "হয়নি: {reason}"),
}

ACTIONS = {
    "taken": ("bed taken", "শয্যা ভর্তি হল"),
    "freed": ("bed freed", "শয্যা খালি হল"),
    "blocked": ("bed blocked", "শয্যা বন্ধ হল"),
    "unblocked": ("bed unblocked", "শয্যা চালু হল"),
    "held": ("bed held for a referral", "রেফারেলের জন্য শয্যা সংরক্ষিত"),
    "released": ("hold released", "সংরক্ষণ তুলে নেওয়া হল"),
    "arrived": ("referral arrived", "রেফার করা রোগী এলেন"),
    "expired": ("a hold expired", "সংরক্ষণের সময় শেষ"),
    "checked": ("count checked", "গণনা মেলানো হল"),
    "set": ("count set by the bed manager", "গণনা ঠিক করা হল"),
    "sensor": ("bed contact", "শয্যার সেন্সর"),
}

# A refusal's reason in Bengali, by how the agent's English reason begins.
REASONS = (
    ("no vacant bed to take", "নেওয়ার মতো খালি শয্যা নেই"),
    ("no occupied bed to free", "ভর্তি শয্যা নেই"),
    ("no vacant bed to block", "বন্ধ করার মতো খালি শয্যা নেই"),
    ("no blocked bed to unblock", "কোনো শয্যা বন্ধ নেই"),
    ("no bed is held", "কোনো শয্যা সংরক্ষিত নেই"),
    ("cannot hold", "সংরক্ষণের মতো খালি শয্যা নেই"),
    ("the count is being recovered", "গণনা উদ্ধার হচ্ছে, পরে চাপুন"),
    ("released after", "আরও একটু চেপে ধরুন"),
    ("the count could not be kept", "গণনা রাখা গেল না"),
)
LANGUAGES = ("en", "bn")


@dataclass(frozen=True)
class PanelView:
    """What the panel's display shows now (see the module docstring)."""

    label: tuple                  # the ward's name: (English, Bengali or None)
    vacant: int = None            # None: no count yet (being recovered)
    occupied: int = 0
    blocked: int = 0              # out of service (not the held beds)
    held: int = 0
    link: str = "recovering"      # "sent", "unsent", "offline" or "recovering"
    action: str = None            # the kind of the last change accepted
    refusal: str = None           # the reason of a refusal of the last REFUSAL_SECONDS
    check_due: bool = False
    check_minutes: int = None     # minutes since the last check, when known


def view_of(agent, label, last=None, refused=None, now=None):
    """The PanelView of a running WardAgent.

    ``last``: the kind of its last accepted change; ``refused``: ``(reason,
    monotonic time)`` of its last refusal; ``now``: monotonic time.
    """
    ledger = agent.ledger
    refusal = None
    if refused is not None and now is not None and now - refused[1] < REFUSAL_SECONDS:
        refusal = refused[0]
    if ledger is None:
        return PanelView(label=label, refusal=refusal)
    counts = ledger.counts
    publisher = agent.publisher
    if not publisher.online:
        link = "offline"
    elif publisher.delivered and agent.checked:
        link = "sent"
    else:
        link = "unsent"
    age = ledger.check_age()
    return PanelView(label=label, vacant=counts.vacant, occupied=counts.occupied,
                     blocked=counts.blocked, held=counts.held, link=link, action=last,
                     refusal=refusal, check_due=agent.check_due,
                     check_minutes=None if age is None else int(age // 60))


def _say(table, key, language, **fields):
    english, bengali = table[key]
    text = bengali if language == "bn" and bengali else english
    return text.format(**fields)


def reason_in(reason, language):
    """A refusal's reason in ``language`` (the agent's English when there is no Bengali)."""
    if language == "bn":
        for start, bengali in REASONS:
            if reason.startswith(start):
                return bengali
    return reason


def lines(view, language):
    """The display's text in ``language``: a dict of its parts.

    ``label``, ``vacant`` (the word beside the figure), ``figure`` (digits,
    or "–" with no count), ``counts`` (occupied, blocked, held — the zero
    ones left out, occupied always), ``link`` (whether the broker has every
    change), ``checked`` (how long ago the count was checked, when known and
    not due), ``status`` (the two together), ``notice`` (a refusal, else the
    check asked for, else the last action, else None) and ``alarm`` (whether
    ``notice`` asks for attention).
    """
    english, bengali = view.label
    label = bengali if language == "bn" and bengali else english
    counts = [_say(PHRASES, "occupied", language, n=view.occupied)]
    if view.blocked:
        counts.append(_say(PHRASES, "blocked", language, n=view.blocked))
    if view.held:
        counts.append(_say(PHRASES, "held", language, n=view.held))
    link = status = _say(PHRASES, view.link, language)
    checked = None
    if view.check_minutes is not None and not view.check_due:
        checked = _say(PHRASES, "checked", language, m=view.check_minutes)
        status += " · " + checked
    if view.refusal is not None:
        notice, alarm = _say(PHRASES, "refused", language,
                             reason=reason_in(view.refusal, language)), True
    elif view.check_due and view.vacant is not None:
        notice, alarm = _say(PHRASES, "check due", language), True
    elif view.action in ACTIONS:
        notice, alarm = _say(ACTIONS, view.action, language), False
    else:
        notice, alarm = None, False
    return {"label": label, "vacant": _say(PHRASES, "vacant", language),
            "figure": "–" if view.vacant is None else str(view.vacant),
            "counts": counts, "status": status, "link": link, "checked": checked,
            "notice": notice, "alarm": alarm}
