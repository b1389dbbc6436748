"""A realistic handout as plain data: the reference for tests, the benchmark and previews.

The exercise text is from Tandem's built-in library (communication practice).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from therapy.handouts.data import Handout, HandoutItem, Role

DAILY_DOWNLOAD = HandoutItem(
    title="The daily download",
    practice_name="Open and honest communication",
    practice_idea=(
        "Say what is true for you in a kind way, and listen so your partner feels heard."
    ),
    summary="Hear each other's day without trying to fix anything.",
    why=(
        "Small daily talks keep you up to date with each other's lives. When you only "
        "listen, your partner can say more than the short version. Over time, this makes "
        "bigger talks feel less strange."
    ),
    steps=(
        "Sit where you can see each other's faces. Set a timer for 10 minutes.",
        "Speaker: talk for about 4 minutes about one part of your day that stayed with you. "
        "Say what happened and how it felt.",
        "Listener: listen without advice or fixing. When the speaker stops, say back the "
        "main point in a sentence or two.",
        "Speaker: say 'yes, that's it' or add what was missed.",
        "Swap roles and do it again.",
        "End with one thing you are looking forward to tomorrow.",
    ),
    roles=(
        Role("Speaker", "Talks about one part of the day and how it felt, for about 4 minutes."),
        Role("Listener", "Listens without advice, then says back the main point."),
    ),
    note=(
        "Zoë, you said evenings are when you feel most alone. Try this on the sofa, not "
        "at the table, and keep it to ten minutes even on good days."
    ),
    tracking="daily",
    prompts=(
        "What did you learn about your partner's day that you did not know before?",
        "What was it like to listen without giving advice?",
        "Which day this week felt easiest to talk, and why?",
    ),
    minutes=10,
    when="Ten minutes after dinner, with phones in another room.",
)

UNSAID_LIST = HandoutItem(
    title="The unsaid list",
    practice_name="Open and honest communication",
    practice_idea=(
        "Say what is true for you in a kind way, and listen so your partner feels heard."
    ),
    summary="Share a few small things you have been meaning to say but have not.",
    why=(
        "Small things left unsaid can build up into distance. Many of them are good "
        "things, like thanks or a wish. Saying them lightly and often keeps the air clear "
        "between you."
    ),
    steps=(
        "On your own, write three short things you have meant to tell your partner. Choose "
        "from: a thank-you, a wish, a question, or something about you they may not know.",
        "Leave off complaints this time. Save those for a talk you plan on purpose.",
        "Sit together. Take turns reading one item at a time.",
        "After each item, the other partner says 'Thank you for telling me' and may ask "
        "one question.",
        "Stop after each of you has read all three items, or sooner if you want to.",
    ),
    note="Pick an evening when neither of you has to be up early.",
    tracking="once",
    prompts=(
        "Which item was easiest to share, and which was hardest?",
        "What surprised you on your partner's list?",
        "Why do you think these things had gone unsaid?",
    ),
    minutes=20,
    when="Write alone for 10 minutes, then share together for 10 minutes.",
    stop_safely=(
        "If something you hear stings, say 'Let's stop here' and come back to it with your "
        "therapist. You can always skip an item."
    ),
)


def reference_handout(**changes: Any) -> Handout:
    """Two homework exercises, one tracked daily: the handout the benchmark measures."""
    handout = Handout(
        partner_a="Zoë",
        partner_b="Łukasz",
        session_date=date(2026, 12, 1),
        next_session_date=date(2026, 12, 8),
        therapist_name="Dr. Maya Ortiz",
        items=(DAILY_DOWNLOAD, UNSAID_LIST),
        paper="A4",
    )
    return replace(handout, **changes)
