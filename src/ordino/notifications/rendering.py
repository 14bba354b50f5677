"""Messages from Jinja2 templates in the recipient's language, with Babel's formatting.

Each kind has `templates/<kind>.txt` (its `subject` and `body` blocks) and `templates/<kind>.html`
(its `body` block). Texts are marked with `{% trans %}`; the catalogs are the `.po` files under
`locale/<language>/LC_MESSAGES/`, read once per process and compiled in memory (no `.mo` files to
build or ship). `locale/messages.pot` lists every msgid (extracted with `pybabel extract -F babel.cfg`, see
docs/architecture.md).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_currency
from babel.support import Translations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from ordino.kernel.money import exponent_of
from ordino.notifications.domain import babel_locale as domain_locale

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
LOCALE = HERE / "locale"


@cache
def translations(language: str) -> Translations:
    """The catalog of `language` as gettext translations, compiled from its .po in memory."""
    path = LOCALE / language / "LC_MESSAGES" / "messages.po"
    if not path.exists():
        return Translations()  # English: the msgids are the text
    with path.open("rb") as po:
        catalog = read_po(po, locale=language)
    mo = io.BytesIO()
    write_mo(mo, catalog)
    mo.seek(0)
    return Translations(mo)


@cache
def environment(language: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES), extensions=["jinja2.ext.i18n"],
        autoescape=select_autoescape(enabled_extensions=("html",), default_for_string=False),
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True,
    )
    env.install_gettext_translations(translations(language), newstyle=True)  # type: ignore[attr-defined]
    return env


@dataclass(frozen=True, slots=True)
class Formatter:
    """Amounts and dates as the recipient's locale writes them."""

    locale: str

    def money(self, minor: int, currency: str) -> str:
        amount = Decimal(minor).scaleb(-exponent_of(currency))
        return str(format_currency(amount, currency, locale=self.locale))

    def amount(self, text: str | Decimal, currency: str) -> str:
        """An amount as events carry it ('36.78')."""
        return str(format_currency(Decimal(text), currency, locale=self.locale))

    def day(self, value: date | datetime | str | None) -> str:
        if value is None:
            return ""
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        return str(format_date(value.date() if isinstance(value, datetime) else value, format="long",
                               locale=self.locale))


@dataclass(frozen=True, slots=True)
class Rendered:
    subject: str
    text: str
    html: str


def render(kind: str, language: str, context: Mapping[str, Any]) -> Rendered:
    env = environment(language)
    text_template = env.get_template(f"{kind}.txt")
    ctx = text_template.new_context(dict(context))
    subject = " ".join("".join(text_template.blocks["subject"](ctx)).split())
    return Rendered(
        subject=subject,
        text=text_template.render(context),
        html=env.get_template(f"{kind}.html").render({**context, "subject": subject}),
    )


def formatter(locale: str | None) -> Formatter:
    """The formatter of the account's locale; its language's (then English) when Babel has no data for it."""
    from babel import Locale, UnknownLocaleError

    for candidate in (domain_locale(locale), (locale or "en").replace("-", "_").split("_")[0], "en"):
        try:
            Locale.parse(candidate)
            return Formatter(candidate)
        except (UnknownLocaleError, ValueError):
            continue
    return Formatter("en")
