"""Gold items in the browser: the "Gold answer" card of a prompt page (set, replace, unset) and the
project's gold list with each item's answered/correct counts. Admins only (MANAGE), like the
quarantine forms: other members get 403 on the list and the forms and see no card; non-members 404.

Labels are built directly (tests/exports/builders.py), the gold answers through the pages."""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from labelhub.labeling.models import ReviewStatus, WorkItem
from labelhub.projects.models import GuidelineVersion, Role
from labelhub.projects.selectors import project_schema
from labelhub.quality import services
from labelhub.quality.models import GoldStandard, QualityAction, QualityEvent

from ..exports import builders as b
from ..factories import UserFactory

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'
ESCAPED = "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
ROLES = (Role.ADMIN, Role.REVIEWER, Role.ENGINEER, Role.LABELER)
FLAG = "hallucination"  # one of the project's default flags
CARD = 'id="gold-title"'


def url(project, name, **kwargs):
    return reverse(f"projects:quality:{name}", kwargs={"project_id": project.pk, **kwargs})


def prompt_url(project, prompt):
    return reverse("projects:prompts:detail", args=[project.pk, prompt.pk])


def comparison(project, text="Which answer is better?", answers=("A good answer.", "A bad answer.", "Meh.")):
    """A prompt with candidates and its comparison item: (prompt, item, [candidate ids as str])."""
    p, cands = b.prompt(project, text, candidates=list(answers))
    item = b.comparison(project, p, cands)
    return p, item, [str(c.pk) for c in cands]


@pytest.fixture
def g(site):
    """`site` plus one comparison item (three candidates) on its own prompt."""
    p, item, ids = comparison(site["project"])
    return {**site, "prompt": p, "item": item, "ids": ids}


def ranks(ids, *values, **extra):
    """POST data: rank_<id> for each candidate (None → blank), plus extra fields."""
    data = {f"rank_{cid}": "" if v is None else str(v) for cid, v in zip(ids, values, strict=False)}
    return {**data, **extra}


def selected_rank(html, cid) -> str | None:
    """The selected option of candidate `cid`'s rank select (None: none is)."""
    select = re.search(rf'<select name="rank_{cid}" id="id_rank_{cid}">(.*?)</select>', html, re.S).group(1)
    found = re.search(r'<option value="([^"]*)" selected>', select)
    return found.group(1) if found else None


def set_gold(client, project, item, data):
    return client.post(url(project, "gold-set", work_item_id=item.pk), data)


# Role matrix -------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
def test_card_and_page_by_role(g, client_for, role):
    project, client = g["project"], client_for(g["members"][role])
    detail = client.get(prompt_url(project, g["prompt"]))
    page = client.get(url(project, "gold"))
    if role == "outsider":
        assert detail.status_code == 404 and page.status_code == 404
        assert project.name not in page.content.decode()
        return
    assert detail.status_code == 200
    html = detail.content.decode()
    if role == Role.ADMIN:
        assert CARD in html and url(project, "gold-set", work_item_id=g["item"].pk) in html
        assert page.status_code == 200
    else:
        assert CARD not in html and url(project, "gold") not in html and "gold-set" not in html
        assert page.status_code == 403


@pytest.mark.parametrize("role", [*ROLES, "outsider"])
def test_set_and_unset_by_role(g, client_for, role):
    project, item, ids = g["project"], g["item"], g["ids"]
    client = client_for(g["members"][role])
    response = set_gold(client, project, item, ranks(ids, 1, 2))
    if role == Role.ADMIN:
        assert response.status_code == 302
        assert GoldStandard.objects.filter(work_item=item).exists()
    else:
        assert response.status_code == (404 if role == "outsider" else 403)
        assert not GoldStandard.objects.exists() and not QualityEvent.objects.exists()
        services.gold_set(work_item_id=item.pk, user=g["members"][Role.ADMIN], data={"pairs": [ids[:2]]})
    response = client.post(url(project, "gold-unset", work_item_id=item.pk), {"reason": "Wrong", "back": "gold"})
    item.refresh_from_db()
    if role == Role.ADMIN:
        assert response.status_code == 302 and not item.is_gold
    else:
        assert response.status_code == (404 if role == "outsider" else 403)
        assert item.is_gold and GoldStandard.objects.filter(work_item=item).exists()


def test_anonymous_visitors_go_to_login_and_wrong_methods(g, client_for):
    project, item = g["project"], g["item"]
    anonymous = client_for(None)
    target = url(project, "gold")
    response = anonymous.get(target)
    assert response.status_code == 302 and response["Location"] == f"{reverse('login')}?next={target}"
    for name in ("gold-set", "gold-unset"):
        response = anonymous.post(url(project, name, work_item_id=item.pk), {"reason": "x", f"rank_{g['ids'][0]}": 1})
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
    admin = client_for(g["members"][Role.ADMIN])
    assert admin.post(url(project, "gold")).status_code == 405
    assert admin.get(url(project, "gold-set", work_item_id=item.pk)).status_code == 405
    assert admin.get(url(project, "gold-unset", work_item_id=item.pk)).status_code == 405
    assert not GoldStandard.objects.exists()


def test_unknown_or_foreign_items_are_404(g, client_for, make_project, staff):
    project, admin = g["project"], client_for(g["members"][Role.ADMIN])
    other = make_project("Other")
    _p, foreign, ids = comparison(other)
    assert set_gold(admin, project, foreign, ranks(ids, 1, 2)).status_code == 404
    assert admin.post(url(project, "gold-unset", work_item_id=foreign.pk), {"reason": "x"}).status_code == 404
    assert admin.post(url(project, "gold-unset", work_item_id=999_999), {"reason": "x"}).status_code == 404
    demo = b.demonstration_item(project, g["prompt"])
    assert set_gold(admin, project, demo, {"note": "x"}).status_code == 404
    assert not GoldStandard.objects.exists()
    # Its own project's page for the foreign item: staff is an admin of both, the URL decides.
    assert set_gold(client_for(staff), other, foreign, ranks(ids, 1, 2)).status_code == 302


def test_quality_nav_links_to_the_gold_page_for_admins_only(g, client_for):
    project, link = g["project"], url(g["project"], "gold")
    html = client_for(g["members"][Role.ADMIN]).get(url(project, "labelers")).content.decode()
    assert f'href="{link}">Gold items</a>' in html
    html = client_for(g["members"][Role.ADMIN]).get(link).content.decode()
    assert f'href="{link}" aria-current="page">Gold items</a>' in html
    for role in (Role.REVIEWER, Role.ENGINEER):
        assert link not in client_for(g["members"][role]).get(url(project, "dashboard")).content.decode()


# The card: setting, replacing ---------------------------------------------------------------------


def test_card_shows_every_compared_answer_with_a_rank_select_and_the_flags(g, client_for):
    project, ids = g["project"], g["ids"]
    html = client_for(g["members"][Role.ADMIN]).get(prompt_url(project, g["prompt"])).content.decode()
    card = html.split('id="gold"')[1]
    assert "Not gold" in card and "Make this item gold" in card
    assert "served to every labeler once" in card and "at the project’s gold rate (10% of claims)" in card
    assert "measure each labeler’s accuracy" in card
    # In the item's order, with their texts.
    assert card.index("A good answer.") < card.index("A bad answer.") < card.index("Meh.")
    for letter, cid in zip("ABC", ids, strict=True):
        assert f'<strong>Answer {letter}</strong> <span class="muted small">candidate #{cid}' in card
        select = re.search(rf'<select name="rank_{cid}" id="id_rank_{cid}">(.*?)</select>', card, re.S).group(1)
        assert re.findall(r'value="([^"]*)"', select) == ["", "1", "2", "3"]
        for flag in project_schema(project=project).question("flags").options:
            assert f'name="flags_{cid}" value="{flag}"' in card
    assert 'name="all_bad"' in card and 'name="note"' in card
    assert "Unset gold" not in card
    assert 'style="' not in html  # CSP: no inline style


def test_set_gold_through_the_card(g, client_for):
    project, item, ids, admin = g["project"], g["item"], g["ids"], g["members"][Role.ADMIN]
    client = client_for(admin)
    data = ranks(ids, 1, 2, 2, note="  Good beats the rest  ")
    data[f"flags_{ids[1]}"] = [FLAG, "wrong language"]
    response = set_gold(client, project, item, data)
    assert response.status_code == 302 and response["Location"] == prompt_url(project, g["prompt"]) + "#gold"
    gold = GoldStandard.objects.get(work_item=item)
    assert sorted(gold.pairs) == sorted([[ids[0], ids[1]], [ids[0], ids[2]]])  # ties form no pair
    assert gold.flags == {ids[1]: sorted([FLAG, "wrong language"])}
    assert gold.all_bad is None and gold.note == "Good beats the rest" and gold.created_by == admin
    item.refresh_from_db()
    assert item.is_gold and item.overlap == services.GOLD_OVERLAP
    event = QualityEvent.objects.get(project=project)
    assert (event.action, event.actor, event.work_item_id, event.reason) == (
        QualityAction.GOLD_SET,
        admin,
        item.pk,
        "Good beats the rest",
    )
    assert event.details["replaced"] is False
    html = client.get(response["Location"]).content.decode()
    assert f"Item #{item.pk} is gold" in html
    card = html.split('id="gold"')[1]
    assert '<span class="badge badge-ok">Gold</span>' in card
    assert "<strong>A</strong>" in card and "“A good answer.”" in card and " beats " in card
    assert '<span class="badge badge-warn">hallucination</span>' in card
    assert "Good beats the rest" in card and f"by {admin.username}" in card
    assert "Unset gold</button>" in card and "Replace the expected answer…" in card
    # The replace form starts from the current answer.
    assert [selected_rank(card, cid) for cid in ids] == ["1", "2", "2"]
    assert f'name="flags_{ids[1]}" value="hallucination" id="id_flags_{ids[1]}_0" checked' in card


def test_replace_the_expected_answer(g, client_for):
    project, item, ids = g["project"], g["item"], g["ids"]
    client = client_for(g["members"][Role.ADMIN])
    assert set_gold(client, project, item, ranks(ids, 1, 2)).status_code == 302
    response = set_gold(client, project, item, {"all_bad": "on", "note": "All wrong after all"})
    assert response.status_code == 302
    gold = GoldStandard.objects.get(work_item=item)
    assert (gold.pairs, gold.flags, gold.all_bad, gold.note) == ([], {}, True, "All wrong after all")
    latest = QualityEvent.objects.filter(project=project).first()
    assert latest.action == QualityAction.GOLD_SET and latest.details["replaced"] is True
    card = client.get(prompt_url(project, g["prompt"])).content.decode().split('id="gold"')[1]
    assert "Every answer is bad" in card


def test_flags_only_answer(g, client_for):
    project, item, ids = g["project"], g["item"], g["ids"]
    response = set_gold(client_for(g["members"][Role.ADMIN]), project, item, {f"flags_{ids[2]}": FLAG})
    assert response.status_code == 302
    gold = GoldStandard.objects.get(work_item=item)
    assert (gold.pairs, gold.flags, gold.all_bad) == ([], {ids[2]: [FLAG]}, None)


# The card: refused input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("nothing", lambda ids: {}, "Give the expected answer"),
        ("one rank", lambda ids: ranks(ids, None, 1), "Rank two answers or more (or none)"),
        ("all tied", lambda ids: ranks(ids, 2, 2), "Give the expected answer"),
        ("rank out of range", lambda ids: ranks(ids, 1, 4), "Select a valid choice. 4 is not one of"),
        ("all bad and a ranking", lambda ids: ranks(ids, 1, 2, all_bad="on"), "“All bad” expects no preference"),
        ("forged flag", lambda ids: {f"flags_{ids[0]}": "made-up flag"}, "Flags: An object: candidate id"),
        ("flag and forged flag", lambda ids: {f"flags_{ids[0]}": [FLAG, "x"], "note": "n"}, "must be ticked, from: "),
        ("long note", lambda ids: ranks(ids, 1, 2, note="x" * 2001), "at most 2000 characters"),
    ],
)
def test_refused_input_re_renders_with_400_and_stores_nothing(g, client_for, name, data, message):
    project, item, ids = g["project"], g["item"], g["ids"]
    response = set_gold(client_for(g["members"][Role.ADMIN]), project, item, data(ids))
    html = response.content.decode()
    assert response.status_code == 400, name
    assert message.replace("“All bad”", "&quot;All bad&quot;") in html, name
    assert 'id="gold"' in html and "Conversation" in html  # the whole prompt page again
    assert not GoldStandard.objects.exists() and not QualityEvent.objects.exists()
    item.refresh_from_db()
    assert not item.is_gold and item.overlap == 3


def test_refused_input_keeps_what_was_entered(g, client_for):
    project, item, ids = g["project"], g["item"], g["ids"]
    data = ranks(ids, 1, 2, all_bad="on", note="Keep me")
    data[f"flags_{ids[0]}"] = FLAG
    html = set_gold(client_for(g["members"][Role.ADMIN]), project, item, data).content.decode()
    card = html.split('id="gold"')[1]
    assert [selected_rank(card, cid) for cid in ids] == ["1", "2", ""]
    assert 'name="all_bad" aria-describedby="id_all_bad_helptext" id="id_all_bad" checked' in card
    assert 'id="id_all_bad_helptext"' in card and "\nKeep me</textarea>" in card
    assert f'value="{FLAG}" id="id_flags_{ids[0]}_0" checked' in card


# Unset -------------------------------------------------------------------------------------------


def test_unset_from_the_prompt_page_needs_a_reason(g, client_for):
    project, item, ids, admin = g["project"], g["item"], g["ids"], g["members"][Role.ADMIN]
    client = client_for(admin)
    assert set_gold(client, project, item, ranks(ids, 1, 2)).status_code == 302
    target = url(project, "gold-unset", work_item_id=item.pk)
    blank = client.post(target, {"reason": "   ", "back": "prompt"})
    assert blank.status_code == 400
    card = blank.content.decode().split('id="gold"')[1]
    assert "This field is required." in card and 'id="prompt-unset-reason-' in card
    item.refresh_from_db()
    assert item.is_gold and GoldStandard.objects.filter(work_item=item).exists()

    response = client.post(target, {"reason": "Ambiguous prompt", "back": "prompt"})
    assert response.status_code == 302 and response["Location"] == prompt_url(project, g["prompt"]) + "#gold"
    item.refresh_from_db()
    assert not item.is_gold and item.overlap == project.comparison_overlap
    assert not GoldStandard.objects.exists()
    event = QualityEvent.objects.filter(project=project).first()
    assert (event.action, event.actor, event.reason) == (QualityAction.GOLD_UNSET, admin, "Ambiguous prompt")
    html = client.get(response["Location"]).content.decode()
    assert "is no longer gold" in html and "Make this item gold" in html
    # Again, now that it is not gold: the service's message, 400.
    again = client.post(target, {"reason": "Twice", "back": "prompt"})
    assert again.status_code == 400 and "This item is not gold." in again.content.decode()
    assert QualityEvent.objects.filter(action=QualityAction.GOLD_UNSET).count() == 1


def test_unset_from_the_gold_page(g, client_for):
    project, item, ids = g["project"], g["item"], g["ids"]
    client = client_for(g["members"][Role.ADMIN])
    assert set_gold(client, project, item, ranks(ids, 1, 2)).status_code == 302
    target = url(project, "gold-unset", work_item_id=item.pk)
    blank = client.post(target, {"reason": "", "back": "gold"})
    html = blank.content.decode()
    assert blank.status_code == 400 and "This field is required." in html
    row = html.split(f'<tr id="gold-{item.pk}">')[1].split("</tr>")[0]
    assert '<details class="qc-action" open>' in row and 'id="gold-unset-reason-' in row
    response = client.post(target, {"reason": "Enough", "back": "gold"})
    assert response.status_code == 302 and response["Location"] == url(project, "gold")
    html = client.get(response["Location"]).content.decode()
    assert "is no longer gold" in html and "No gold items yet." in html
    # Unset again from the list: the item is gone from it, so the message shows above the list.
    late = client.post(target, {"reason": "Late", "back": "gold"})
    assert late.status_code == 400
    assert f"Item #{item.pk} was not changed" in late.content.decode()
    assert "This item is not gold." in late.content.decode()


# Escaping ----------------------------------------------------------------------------------------


def test_candidate_text_prompt_and_note_are_escaped(site, client_for):
    project = site["project"]
    p, item, ids = comparison(project, text=f"Prompt {XSS}", answers=(f"First {XSS}", "Second"))
    client = client_for(site["members"][Role.ADMIN])
    html = client.get(prompt_url(project, p)).content.decode()
    card = html.split('id="gold"')[1]
    assert 'First &lt;script&gt;alert("x")&lt;/script&gt;' in card and XSS not in card  # Markdown: the tag is text
    data = ranks(ids, 1, 2, note=f"Note {XSS}")
    assert set_gold(client, project, item, data).status_code == 302
    for page in (prompt_url(project, p), url(project, "gold")):
        html = client.get(page).content.decode()
        assert XSS not in html, page
        assert f"Note {ESCAPED}" in html and f"“First {ESCAPED}”" in html, page
    assert f"Prompt {ESCAPED}" in client.get(url(project, "gold")).content.decode()
    # Refused with the note: shown back escaped too.
    html = set_gold(client, project, item, ranks(ids, 1, note=f"Note {XSS}")).content.decode()
    assert XSS not in html and f"Note {ESCAPED}</textarea>" in html


# The gold page -------------------------------------------------------------------------------------


def test_gold_page_counts_answers_and_correct_ones(g, client_for):
    project, item, ids, admin = g["project"], g["item"], g["ids"], g["members"][Role.ADMIN]
    version = GuidelineVersion.objects.filter(project=project).latest("number")
    client = client_for(admin)
    data = ranks(ids, 1, 2, note="Good first")
    data[f"flags_{ids[1]}"] = FLAG
    assert set_gold(client, project, item, data).status_code == 302
    a, c = ids[0], ids[2]
    bad = ids[1]
    labelers = [UserFactory(username=f"lab{i}") for i in range(5)]
    b.label(item, labelers[0], version, ranks={a: 1, bad: 2, c: 3}, flags={bad: [FLAG]})  # correct
    b.label(item, labelers[1], version, ranks={a: 1, bad: 3, c: 2}, flags={bad: [FLAG, "wrong language"]})  # correct
    b.label(item, labelers[2], version, ranks={a: 2, bad: 1, c: 3}, flags={bad: [FLAG]})  # order wrong
    b.label(item, labelers[3], version, ranks={a: 1, bad: 2, c: 3}, flags={})  # flag missing
    rejected = b.label(item, labelers[4], version, ranks={a: 1, bad: 2, c: 3}, flags={bad: [FLAG]})
    rejected.review_status = ReviewStatus.REJECTED
    rejected.save(update_fields=["review_status"])
    # Another gold item, nobody answered yet.
    p2, item2, _ids2 = comparison(project, text="Second question?", answers=("Yes.", "No."))
    assert set_gold(client, project, item2, {"all_bad": "on"}).status_code == 302

    html = client.get(url(project, "gold")).content.decode()
    assert 'style="' not in html  # CSP: no inline style
    assert html.index(f'<tr id="gold-{item2.pk}">') < html.index(f'<tr id="gold-{item.pk}">')  # newest first
    row = html.split(f'<tr id="gold-{item.pk}">')[1].split("</tr>")[0]
    assert f'href="{prompt_url(project, g["prompt"])}#gold"' in row and "Which answer is better?" in row
    numbers = re.findall(r'<td class="num">(\d+)<div class="muted small nowrap">([^<]+)</div>', row)
    assert numbers == [("4", "labelers"), ("2", "50.0%")]
    assert "Good first" in row and f"by {admin.username}" in row and "“A good answer.”" in row
    assert '<span class="badge badge-warn">hallucination</span>' in row
    row2 = html.split(f'<tr id="gold-{item2.pk}">')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)<div class="muted small nowrap">([^<]+)</div>', row2) == [
        ("0", "labelers"),
        ("0", "n/a"),
    ]
    assert "Every answer is bad" in row2 and "Second question?" in row2 and prompt_url(project, p2) in row2
    assert WorkItem.objects.filter(pk__in=[item.pk, item2.pk], is_gold=True).count() == 2


def test_gold_page_is_keyset_paged_in_a_constant_number_of_queries(site, client_for):
    project, admin = site["project"], site["members"][Role.ADMIN]
    version = GuidelineVersion.objects.filter(project=project).latest("number")
    labeler = site["members"][Role.LABELER]
    client = client_for(admin)

    def make(start, n):
        for i in range(start, start + n):
            _p, item, ids = comparison(project, text=f"Question {i}?", answers=(f"Yes {i}.", f"No {i}."))
            services.gold_set(work_item_id=item.pk, user=admin, data={"pairs": [ids]})
            b.label(item, labeler, version, ranks={ids[0]: 1, ids[1]: 2})

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url(project, "gold")).status_code == 200
        return len(ctx.captured_queries)

    make(0, 3)
    few = count()
    make(3, 52)
    assert count() == few
    html = client.get(url(project, "gold")).content.decode()
    assert html.count('<tr id="gold-') == 50 and 'rel="next">Older →</a>' in html
    older = re.search(r'href="([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    html = client.get(older).content.decode()
    assert html.count('<tr id="gold-') == 5 and "← Newest" in html and 'rel="next"' not in html
    assert "Question 0?" in html  # the oldest
    assert client.get(url(project, "gold") + "?before=junk").status_code == 404


# The card follows the labeling schema --------------------------------------------------------------

HOSTILE = {
    "tracks": [{"name": "general", "label": f"Track {XSS}", "description": XSS}],
    "questions": [
        {"name": "grade", "type": "scale", "label": f"Grade {XSS}", "min": 1, "max": 3,
         "point_labels": {"3": f"Top {XSS}"}, "hint": XSS},
        {"name": "on_topic", "type": "binary", "label": f"On topic {XSS}"},
        {"name": "tone", "type": "choice", "label": "Tone", "options": ["formal", XSS]},
        {"name": "issues", "type": "multi", "label": f"Issues {XSS}", "options": ["typo", XSS], "required": False},
        {"name": "comment", "type": "text", "label": "Comment", "required": False},
    ],
    "ranking": {"enabled": True, "ties": True, "all_bad": True},
    "safety": {"enabled": False, "required_on": []},
}  # fmt: skip


def schema_project(staff, preset="minimal", schema=HOSTILE):
    from labelhub.projects import services as project_services

    project = project_services.project_create(user=staff, name="Schema gold", preset=preset)
    if schema is not None:
        project_services.guideline_draft_save(project=project, user=staff, schema=schema)
    version = project_services.guideline_version_publish(project=project, user=staff, change_note="v", content="x")
    p, cands = b.prompt(project, "Rate these", track="general", candidates=["First", "Second"])
    return project, version, p, b.comparison(project, p, cands), [str(c.pk) for c in cands]


def test_card_asks_every_question_of_the_schema_escaped(staff, client_for):
    project, _version, p, item, ids = schema_project(staff)
    client = client_for(staff)
    html = client.get(prompt_url(project, p)).content.decode()
    card = html.split('id="gold"')[1]
    assert XSS not in html and f"Grade {ESCAPED} of A" in card and f"Issues {ESCAPED}: B must get" in card
    for cid in ids:
        grade = re.search(rf'<select name="answer_{cid}_grade"[^>]*>(.*?)</select>', card, re.S).group(1)
        assert re.findall(r'value="([^"]*)"', grade) == ["", "1", "2", "3"] and f"3 · Top {ESCAPED}" in grade
        binary = re.search(rf'<select name="answer_{cid}_on_topic"[^>]*>(.*?)</select>', card, re.S).group(1)
        assert re.findall(r'value="([^"]*)"', binary) == ["", "true", "false"]
        assert f'name="answer_{cid}_tone"' in card and f'name="answer_{cid}_issues" value="{ESCAPED}"' in card
        assert f'name="answer_{cid}_comment"' not in card  # text answers are never gold
        assert f'name="rank_{cid}"' in card
    assert 'name="tolerance"' in card and 'name="all_bad"' in card
    data = ranks(ids, 1, 2, tolerance="1", note="n")
    data |= {f"answer_{ids[0]}_grade": "3", f"answer_{ids[0]}_on_topic": "false", f"answer_{ids[0]}_tone": XSS}
    data[f"answer_{ids[1]}_issues"] = ["typo", XSS]
    assert set_gold(client, project, item, data).status_code == 302
    gold = GoldStandard.objects.get(work_item=item)
    assert gold.answers == {
        ids[0]: {"grade": 3, "on_topic": False, "tone": XSS},
        ids[1]: {"issues": sorted(["typo", XSS])},
    }
    assert gold.tolerance == 1 and gold.pairs == [ids]
    for page in (prompt_url(project, p), url(project, "gold")):
        html = client.get(page).content.decode()
        assert XSS not in html and f"Grade {ESCAPED} <strong>3</strong>" in html, page
        assert "Scale answers count within ±1 point." in html, page
    card = client.get(prompt_url(project, p)).content.decode().split('id="gold"')[1]
    assert re.search(rf'<option value="3" selected>3 · Top {re.escape(ESCAPED)}</option>', card)  # replace form
    assert re.search(rf'name="answer_{ids[1]}_issues" value="typo" id="[^"]+" checked', card)
    # Refused: a value the schema does not offer, shown on its input.
    html = set_gold(client, project, item, {f"answer_{ids[0]}_grade": "9"}).content.decode()
    assert "Select a valid choice. 9 is not one of the available choices." in html and XSS not in html


def test_card_of_a_schema_without_ranking(staff, client_for):
    project, version, p, item, ids = schema_project(staff, preset="helpsteer", schema=None)
    client = client_for(staff)
    card = client.get(prompt_url(project, p)).content.decode().split('id="gold"')[1]
    assert 'name="rank_' not in card and 'name="all_bad"' not in card and 'name="tolerance"' in card
    assert "Verbosity of A" in card and "Rank the answers" not in card
    assert set_gold(client, project, item, {f"answer_{ids[1]}_verbosity": "0"}).status_code == 302
    assert GoldStandard.objects.get(work_item=item).answers == {ids[1]: {"verbosity": 0}}
    labeler = UserFactory(username="hs")
    b.label(item, labeler, version, ranks={}, ratings={ids[1]: {"verbosity": 0}})
    b.label(item, UserFactory(username="hs2"), version, ranks={}, ratings={ids[1]: {"verbosity": 2}})
    row = client.get(url(project, "gold")).content.decode().split(f'<tr id="gold-{item.pk}">')[1].split("</tr>")[0]
    assert re.findall(r'<td class="num">(\d+)<div class="muted small nowrap">([^<]+)</div>', row) == [
        ("2", "labelers"),
        ("1", "50.0%"),
    ]
