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
"""

from __future__ import annotations

import ast
import contextvars
import re
from collections import defaultdict
from importlib import import_module
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from core.licence import LICENSED_MODULES
from core.plugins import ENTRY_POINT_GROUP
from core.web import i18n

REPO = Path(__file__).resolve().parents[2]
SOURCE_ROOTS = (REPO / "core", REPO / "plugins")
LANG = "en"
CJK = re.compile(r"[\u4e00-\u9fff]")
CALL = re.compile(r"""(?<![\w.])_\(\s*(?:"((?:[^"\\\n]|\\.)*)"|'((?:[^'\\\n]|\\.)*)')""")
BRACE_FIELD = re.compile(r"\{([^{}\s]*)\}")
PERCENT_FIELD = re.compile(r"%\((\w+)\)[sdifr]")


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
