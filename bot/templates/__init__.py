"""Our robot's card templates: card-platform exports (``<templateId>.json``) to import into a
real app's card platform, and to load into the fake (``fakeding serve --templates
bot/templates``, a scenario's ``templates:``, ``fakeding.add_template``)."""

from __future__ import annotations

from pathlib import Path

TEMPLATES = Path(__file__).parent
