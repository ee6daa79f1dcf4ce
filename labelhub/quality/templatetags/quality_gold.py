"""The "Gold answer" card quality adds to a prompt page (the prompts app, below quality, must not
import it): {% load quality_gold %}{% prompt_gold_card %} in templates/prompts/detail.html."""

from django import template

from ..views import gold_card

register = template.Library()


@register.inclusion_tag("quality/_gold_card.html", takes_context=True)
def prompt_gold_card(context) -> dict:
    """The card of the page's `prompt` for admins (nothing for other roles, or without a comparison
    item). A refused gold form re-renders the page with its card in the context as `gold`
    (quality.views._prompt_page), errors and all."""
    card = context.get("gold")
    if card is None:
        card = gold_card(context["access"], context["prompt"])
    return {"project": context["project"], "gold": card}
