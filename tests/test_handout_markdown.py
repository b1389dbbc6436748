"""A therapist's own exercise with **bold**, *italic* and a link: formatted, never raw
Markdown, on the handout page and in its PDF; the link is printed, never fetched."""

from __future__ import annotations

from tests.pdf_helpers import connection_attempted, fonts_mapping, poppler_text
from tests.test_handout_views import DAILY, custom_exercise, plan


def test_markdown_in_steps_and_prompts_prints_formatted(app, logged_in, library, make_couple,
                                                        therapist, listener):  # fmt: skip
    port = listener.getsockname()[1]
    guide = f"http://127.0.0.1:{port}/guide"
    exercise_id = custom_exercise(
        logged_in,
        steps=(
            f"Say **one kind thing** each evening.\nRead *slowly*, then see [the guide]({guide})."
        ),
        prompts="What was **hardest** to say?",
    )
    couple = make_couple(therapist, "Zoë", "Łukasz")
    session_id = plan(app, couple, [(library.id(DAILY), {"homework": True}),
                                    (exercise_id, {"homework": True})])  # fmt: skip
    data = logged_in.get(f"/sessions/{session_id}/handout.pdf").data
    text = poppler_text(data)
    assert "**" not in text and "[the guide]" not in text
    assert "Say one kind thing each evening." in text
    assert f"then see the guide ({guide})." in text
    assert "What was hardest to say?" in text
    # The bold words are printed with the semibold face, the italic with the italic one.
    faces = fonts_mapping(data)
    assert set("kindhardest") <= faces["Tandem-Sans-Semi-Bold"]
    assert set("slowly") <= faces["Tandem-Sans-Italic"]
    assert not connection_attempted(listener)

    preview = logged_in.get(f"/sessions/{session_id}/handout").get_data(as_text=True)
    assert "<strong>one kind thing</strong>" in preview and "<em>slowly</em>" in preview
    assert f'<a href="{guide}" rel="noopener noreferrer nofollow">the guide</a>' in preview
    assert "**" not in preview


def test_unsafe_markdown_stays_inert_on_the_handout(app, logged_in, library, make_couple,
                                                    therapist):  # fmt: skip
    exercise_id = custom_exercise(
        logged_in, steps="[Tap here](javascript:alert(1)) and <b>raw</b> **fine**"
    )
    couple = make_couple(therapist, "Zoë", "Łukasz")
    session_id = plan(app, couple, [(exercise_id, {"homework": True})])
    preview = logged_in.get(f"/sessions/{session_id}/handout").get_data(as_text=True)
    # markdown-it leaves a javascript: link as the text it was; HTML is shown as text.
    assert 'href="javascript' not in preview and "<b>" not in preview
    inert = "[Tap here](javascript:alert(1)) and &lt;b&gt;raw&lt;/b&gt; <strong>fine</strong>"
    assert inert in preview
    text = poppler_text(logged_in.get(f"/sessions/{session_id}/handout.pdf").data)
    assert "and <b>raw</b> fine" in text and "**" not in text
