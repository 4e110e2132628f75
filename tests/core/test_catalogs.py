"""Every Chinese UI string wrapped in `_()` has an English translation wherever it is shown, and
each translation keeps its msgid's placeholders.

Strings are collected from `core/**` and `plugins/**` (`*.html` and `*.py`): the literal right after
`_(`, in double or single quotes. Only that first literal is checked: an f-string, a name
(`_(label)`), or the later parts of implicitly concatenated literals are not seen, and a literal is
not followed across lines. Escapes inside it are resolved as Python would (`\\"` → `"`).

A string is resolved the way the app resolves it: `core.web.i18n` compiles the catalogs, and the
locale directories are the ones `core.web.app.create_app` registers (a `locale` directory beside
each plugin's template directories). Plugins named in the licence (`LICENSED_MODULES`) may be absent,
so a page of one is checked against core's catalog, the always-loaded built-ins' catalogs and its own
catalog only, and a core page against the first two: another plugin's catalog does not count.

Labels passed to `_()` as variables (`_(label)`, `_(statuses.get(c.status, c.status))`, `_(item.label)`)
are checked from where they come from, against the catalogs of the package that defines them: the label
collections named in `LABEL_SOURCES`, and what each plugin's hooks return (its title, permissions, menu
items, customer tabs, action links, settings sections with their fields' titles and descriptions).
"""

from __future__ import annotations

import ast
import contextvars
import inspect
import re
from collections import defaultdict
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import msgspec
import pytest
from babel.messages.pofile import read_po

from core.hooktypes import SettingsSection
from core.licence import LICENSED_MODULES
from core.plugins import ENTRY_POINT_GROUP
from core.settings import routes as settings_routes
from core.web import i18n

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (REPO / "core", REPO / "plugins")
LANG = "en"
CJK = re.compile(r"[\u4e00-\u9fff]")
CALL = re.compile(r"""(?<![\w.])_\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""")
BRACE_FIELD = re.compile(r"\{([^{}\s]*)\}")
PERCENT_FIELD = re.compile(r"%\((\w+)\)[sdifr]")

# Label collections that pages show through `_(variable)`, as (module, attribute): the literal scan cannot
# see them. A new mapping, list or tuple of Chinese labels translated that way must be added here.
LABEL_SOURCES: list[tuple[str, str]] = [
    ("core.web.errors", "TITLES"),  # error.html: _(title)
    ("core.customers.routes_pages", "VIEWS"),  # customers/list.html: _(label)
    ("core.customers.routes_pages", "COLUMNS"),  # customers/list.html, _rows.html: _(label)
    ("core.customers.routes_pages", "FIELD_KINDS"),  # customers/fields.html: _(label)
    ("core.customers.importer", "FIELD_LABELS"),  # customers/_import_report.html: _(label)
    ("plugins.dialer.campaigns", "STATUS_ZH"),  # campaigns.html, console.html, pages.py: _(statuses.get(…))
    ("plugins.dialer.pages", "MODES"),  # campaigns.html, console.html: _(v), _(modes.get(…))
    ("plugins.dialer.pages", "LINE_STATES"),  # the live console's words (pages._console_text)
    ("plugins.dialer.pages", "CALL_TYPES"),  # dial.html: _(t); _calls_table.html: _(k.call_type)
    ("plugins.dialer.pages", "AGENT_STATES"),  # the live console's words (pages._console_text)
    ("plugins.dialer.pages", "DIMS"),  # stats.html: _(label), _(dims[by])
    ("plugins.dialer.calls", "CAUSES"),  # _calls_table.html: _(causes.get(…))
    ("plugins.dialer.calls", "DISPOSITIONS"),  # _calls_table.html: _(d)
    ("plugins.dialer.devices", "CARRIERS"),  # devices.html: _(names[0])
    ("plugins.dialer.devices", "LIMITS"),  # devices.html: _(f.label), _(f.unit)
    ("plugins.sales.routes_pages", "SORTS"),  # sales/list.html: _(label)
    ("plugins.sales.schemas", "ROW_COLUMNS"),  # sales/list.html, _rows.html: _(label)
    ("plugins.sales.analysis", "DIMENSIONS"),  # sales/analysis.html: _(label), _(dims[r.by])
    ("plugins.sales.analysis", "PERIODS"),  # sales/analysis.html: _(label), _(periods[r.period])
    ("plugins.sms.timeline", "STATE_LABELS"),  # sms/sent.html, _message_row.html: _(labels.get(…))
    ("plugins.sms.channels.registry", "CHANNELS"),  # sms/compose.html: _(label), each channel's label
]
# Hooks whose items' `label` a page shows through `_()` (a SettingsSection's actions and fields too).
LABEL_HOOKS = ("permissions", "menu_items", "customer_tabs", "phone_actions", "customer_list_actions",
               "settings_sections")


def _unescape(raw: str, quote: str) -> str:
    try:
        return ast.literal_eval(quote + raw + quote)
    except (SyntaxError, ValueError):
        return raw


def _strings_in(path: Path) -> set[str]:
    text = path.read_text(encoding="utf-8")
    found = set()
    for m in CALL.finditer(text):
        s = _unescape(m.group(1), '"') if m.group(1) is not None else _unescape(m.group(2), "'")
        if CJK.search(s):
            found.add(s)
    return found


def _source_files() -> list[Path]:
    return sorted(p for root in SOURCE_ROOTS for pattern in ("*.html", "*.py") for p in root.rglob(pattern)
                  if "locale" not in p.relative_to(REPO).parts)


class _Plugin:
    def __init__(self, name: str, module_name: str) -> None:
        module = import_module(module_name)
        self.name = name
        self.module = module
        self.root = Path(module.__file__).resolve().parent
        template_dirs = module.template_dirs() if hasattr(module, "template_dirs") else []
        # as in core.web.app.create_app: a `locale` directory beside each template directory
        self.locale_dirs = [d for d in (Path(t).parent / "locale" for t in template_dirs) if d.is_dir()]
        self.always_loaded = name not in LICENSED_MODULES


def _plugins() -> list[_Plugin]:
    found = [_Plugin(ep.name, ep.value) for ep in entry_points(group=ENTRY_POINT_GROUP)]
    assert {"core", "dialer", "sales", "sms"} <= {p.name for p in found}, "waihubao is not installed (pip install -e .)"
    return found


def _owner(path: Path, plugins: list[_Plugin]) -> _Plugin | None:
    owners = [p for p in plugins if path.resolve().is_relative_to(p.root)]
    return max(owners, key=lambda p: len(p.root.parts), default=None)


def _translate_all(strings: set[str], locale_dirs: list[Path], monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Each string through `core.web.i18n` with only core's catalog and `locale_dirs` registered."""
    monkeypatch.setattr(i18n, "_extra_dirs", [])
    i18n._translations.cache_clear()
    for d in locale_dirs:
        i18n.add_locale_dir(d)

    def run() -> dict[str, str]:
        i18n.set_language(LANG)
        return {s: i18n.gettext(s) for s in strings}

    try:
        return contextvars.copy_context().run(run)  # the language stays out of the other tests' context
    finally:
        i18n._translations.cache_clear()


def _chinese_strings(value: object) -> set[str]:
    """The strings with a Chinese character in a label collection: dict values, the items of lists and
    tuples (so the label of a `(key, label)` pair, the zh name of a `(zh, en)` pair), a Struct's fields,
    another object's `label`."""
    if isinstance(value, str):
        return {value} if CJK.search(value) else set()
    if isinstance(value, dict):
        items = list(value.values())
    elif isinstance(value, msgspec.Struct):
        items = [getattr(value, f) for f in value.__struct_fields__]
    elif isinstance(value, list | tuple | set | frozenset):
        items = list(value)
    elif isinstance(getattr(value, "label", None), str):
        items = [value.label]  # type: ignore[attr-defined]
    else:
        return set()
    return set().union(*(_chinese_strings(v) for v in items))


def _hook_labels(module: object) -> set[str]:
    """The labels a plugin module's hooks give the pages (called as pluggy would, with no actor)."""
    labels = {module.MANIFEST.title}  # type: ignore[attr-defined]
    for hook in LABEL_HOOKS:
        impl = getattr(module, hook, None)
        if impl is None:
            continue
        kwargs = {"actor": None} if "actor" in inspect.signature(impl).parameters else {}
        for item in impl(**kwargs) or []:
            labels.add(item.label)
            if isinstance(item, SettingsSection):
                labels |= {a.label for a in item.actions}
                for field in settings_routes._fields(item.schema()):  # as the admin settings page lists them
                    labels |= {field["label"], field["help"]}
    return {s for s in labels if CJK.search(s)}


def _check_translated(found: dict[_Plugin | None, dict[str, set[str]]], plugins: list[_Plugin],
                      monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """`found` maps each owner to {label: where it comes from}; the labels the owner's catalogs miss."""
    always = [d for p in plugins if p.always_loaded for d in p.locale_dirs]
    missing = []
    for owner, labels in found.items():
        dirs = list(dict.fromkeys([*always, *(owner.locale_dirs if owner else [])]))
        translated = _translate_all(set(labels), dirs, monkeypatch)
        missing += [f"{where}: {s!r}" for s, t in translated.items() if t == s for where in sorted(labels[s])]
    return sorted(missing)


def _catalog_files() -> list[Path]:
    return sorted(p for root in SOURCE_ROOTS for p in root.rglob(f"locale/{LANG}/LC_MESSAGES/messages.po"))


def test_every_chinese_ui_string_has_an_english_translation_where_it_is_shown(monkeypatch):
    plugins = _plugins()
    always = [d for p in plugins if p.always_loaded for d in p.locale_dirs]
    by_dirs: dict[tuple[Path, ...], dict[str, set[Path]]] = defaultdict(lambda: defaultdict(set))
    for path in _source_files():
        owner = _owner(path, plugins)
        dirs = tuple(dict.fromkeys([*always, *(owner.locale_dirs if owner else [])]))
        for s in _strings_in(path):
            by_dirs[dirs][s].add(path)

    assert by_dirs, "no _() strings found: has the source layout changed?"
    missing = []
    for dirs, strings in by_dirs.items():
        translated = _translate_all(set(strings), list(dirs), monkeypatch)
        missing += [f"{p.relative_to(REPO)}: {s!r}" for s, t in translated.items() if t == s
                    for p in sorted(strings[s])]
    assert not missing, f"{len(missing)} _() strings have no English translation in a loaded catalog:\n" + "\n".join(
        sorted(missing))


def test_labels_from_python_data_have_an_english_translation_where_they_are_defined(monkeypatch):
    """`_(v) for v in STATUSES.values()`, `{{ _(modes.get(c.mode, c.mode)) }}`…: every label in `LABEL_SOURCES`
    has an English translation in core's catalog, the always-loaded built-ins' and its own package's.

    A new mapping, list or tuple of labels that a page translates as a variable must be added to
    `LABEL_SOURCES`: this test sees only what is listed there."""
    plugins = _plugins()
    found: dict[_Plugin | None, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for module_name, attribute in LABEL_SOURCES:
        module = import_module(module_name)
        labels = _chinese_strings(getattr(module, attribute))
        assert labels, f"{module_name}.{attribute} holds no Chinese label: remove it from LABEL_SOURCES?"
        for s in labels:
            found[_owner(Path(module.__file__), plugins)][s].add(f"{module_name}.{attribute}")
    missing = _check_translated(found, plugins, monkeypatch)
    assert not missing, f"{len(missing)} labels have no English translation in a loaded catalog:\n" + "\n".join(
        missing)


def test_labels_from_plugin_hooks_have_an_english_translation(monkeypatch):
    """Titles, permissions (the role editor shows `_(p.label)`, not `label_en`), menu items, customer tabs,
    action links and settings sections (labels, field titles and descriptions) of every plugin."""
    from plugins.sales import plugin as sales_plugin

    monkeypatch.setattr(sales_plugin, "analysis_licensed", lambda: True)  # its 销售分析 menu item asks the licence
    plugins = _plugins()
    found: dict[_Plugin | None, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for plugin in plugins:
        for s in _hook_labels(plugin.module):
            found[plugin][s].add(f"{plugin.name} plugin hooks")
    missing = _check_translated(found, plugins, monkeypatch)
    assert not missing, f"{len(missing)} hook labels have no English translation in a loaded catalog:\n" + "\n".join(
        missing)


def test_each_plugin_with_templates_has_its_catalog_registered():
    """The SMS plugin's catalog (and every other) is found the way the app finds it."""
    registered = {d for p in _plugins() for d in p.locale_dirs}
    for po in _catalog_files():
        base = po.parents[2]
        if base != i18n.CORE_LOCALE_DIR:
            assert base in registered, f"{po.relative_to(REPO)} is not beside any plugin's template directory"


@pytest.mark.parametrize("po", _catalog_files(), ids=lambda p: str(p.relative_to(REPO)))
def test_catalog_loads_without_duplicates_and_keeps_placeholders(po):
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=LANG)
    messages = [m for m in catalog if m.id]
    written = len(re.findall(r'^msgid "', po.read_text(encoding="utf-8"), flags=re.M)) - 1  # minus the header
    assert len(messages) == written, f"{po.relative_to(REPO)}: a msgid is written twice"

    wrong = []
    for m in messages:
        if isinstance(m.id, tuple):
            pairs = [(m.id[0], m.string[0]), *((m.id[1], s) for s in m.string[1:])]
        else:
            pairs = [(m.id, m.string)]
        for msgid, msgstr in pairs:
            if not msgstr:
                wrong.append(f"{msgid!r}: no translation")
                continue
            for field in (BRACE_FIELD, PERCENT_FIELD):
                if set(field.findall(msgid)) != set(field.findall(msgstr)):
                    wrong.append(f"{msgid!r} → {msgstr!r}: placeholders differ")
        if m.fuzzy:
            wrong.append(f"{m.id!r}: fuzzy (left out when compiled)")
    assert not wrong, f"{po.relative_to(REPO)}:\n" + "\n".join(wrong)
