"""The manuscript templates: a strict, sandboxed Jinja2 environment over the results store.

In a template every value of the results store is reachable by its dotted key
(``{{ pfs.median.ID }}``). Printing one gives its formatted text wrapped in a pandoc span
that carries the key (``[30.03]{.val title="pfs.median.ID"}``), so a reader of the HTML can
hover any number and see where it came from. An undefined or misspelt key fails the build
with the template's name, the line, and the key.

Jinja comments are ``{## ... ##}`` so they never clash with Quarto labels (``{#tbl-x}``).
"""

from __future__ import annotations

import contextlib
import difflib
import json
import os
import re
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
from jinja2.ext import Extension
from jinja2.sandbox import SandboxedEnvironment

from analysis.errors import ConfigError, TemplateError
from analysis.formatting import PARTS, Style, fmt_month_year, fmt_p_phrase, format_part, format_value
from analysis.markup import Markdown, code_span, md_attr, md_escape, yaml_value
from analysis.results import ResultsStore, Value, comparable
from analysis.templatesyntax import COMMENT_END, COMMENT_START, LEXER_SETTINGS

__all__ = ["Bound", "Namespace", "check_front_matter", "check_template_links", "make_environment",
           "render_manuscript", "render_text", "to_markdown"]


def to_markdown(value: Any) -> Markdown:
    """What ``{{ value }}`` prints: the autoescape rule of the manuscript templates.

    Template-authored and helper-built markup (:class:`Markdown`) and bound values (a span
    carrying the key) are printed as they are; every other string, from study.yaml or the
    data, is plain text and is escaped so that pandoc reads it literally.
    """
    if isinstance(value, Markdown):
        return value
    if isinstance(value, (Bound, Namespace)):
        return Markdown(str(value))
    return Markdown(md_escape(str(value)))


class Bound:
    """A value as a template sees it. ``str()`` gives the span-wrapped formatted text.

    ``.raw`` is the number itself (for logic such as ``{% if x.raw > y.raw %}``), ``.text``
    the plain formatted text, ``.key`` the dotted key.
    """

    _NO_RAW = object()

    def __init__(self, value: Value, style: Style, text: str | None = None, raw: Any = _NO_RAW,
                 part: str | None = None) -> None:
        self._value = value
        self._style = style
        self._text = text
        self._raw = raw
        self._part = part

    @property
    def key(self) -> str:
        """The dotted key; a part of a composite value has its own (``series.orr.N``)."""
        return f"{self._value.key}.{self._part}" if self._part else self._value.key

    @property
    def raw(self) -> Any:
        """The raw number (or mapping) behind the text."""
        return self._value.raw if self._raw is Bound._NO_RAW else self._raw

    @property
    def kind(self) -> str:
        """The value's format kind (``p``, ``n_pct``, ...)."""
        return self._value.kind

    @property
    def digits(self) -> int | None:
        """The value's decimals, if set."""
        return self._value.digits

    @property
    def text(self) -> str:
        """The plain formatted text (no span)."""
        return self._text if self._text is not None else self._value.text(self._style)

    def __getattr__(self, name: str) -> Bound:
        """A part of a composite value (``.n``, ``.pct``, ``.mean``, ``.median``, ...),
        printed with the value's own decimals and still bound to its key."""
        if name.startswith("_") or name not in PARTS.get(self._value.kind, ()):
            raise AttributeError(name)
        return Bound(self._value, self._style,
                     format_part(self._value.raw, self._value.kind, name, self._value.digits, self._style),
                     raw=_part_raw(self._value.raw, name), part=name)

    def with_text(self, text: str) -> Bound:
        """The same value (and key) printed differently, e.g. with other decimals."""
        return Bound(self._value, self._style, text, self._raw, self._part)

    def span(self, text: str | None = None) -> Markdown:
        """The formatted text (or ``text``) as a pandoc span carrying the key."""
        # text values (names, rules) carry their key too, but are not styled as numbers
        cls = ".val .val-text" if self.kind in ("text", "date") else ".val"
        return Markdown(f'[{md_escape(self.text if text is None else text)}]{{{cls} title="{md_attr(self.key)}"}}')

    def __str__(self) -> str:
        return self.span()

    def __repr__(self) -> str:
        return f"Bound({self.key}={self.raw!r})"


def _shown(x: Bound | float) -> float | None:
    """The number a reader sees: a plain number as it is, a bound value by its printed text
    (the percentage of an n (%), the estimate of a ratio, the median of a median (CI))."""
    if not isinstance(x, Bound):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TemplateError(f"cannot compare {x!r}: expected a value or a number")
        return float(x)
    part = {"n_pct": "pct", "mean_sd": "mean", "median_ci": "median", "ratio_ci": "estimate"}.get(x.kind)
    text = getattr(x, part).text if part else x.text
    try:
        return float(text.replace("\u2212", "-"))
    except ValueError:  # "<0.001", "NR": the raw number decides
        return comparable(x.raw)


def _part_raw(raw: dict[str, Any], part: str) -> Any:
    """The raw number of a part; "pct" of an n (%) is the proportion n/N."""
    if part == "pct":
        return raw["n"] / raw["N"] if raw["N"] else None
    return raw[part]


class Namespace:
    """A group of values under a common key prefix (``pfs`` holds ``pfs.median.ID``)."""

    def __init__(self, prefix: str, children: dict[str, Any]) -> None:
        self._prefix = prefix
        self._children = children

    @property
    def prefix(self) -> str:
        """The key prefix of this group (``pfs``)."""
        return self._prefix

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return self._children[name]
        except KeyError:
            raise AttributeError(name) from None

    def __getitem__(self, name: Any) -> Any:
        return self._children[str(name)]

    def __contains__(self, name: object) -> bool:
        return str(name) in self._children

    def names(self) -> list[str]:
        """The names of the group's members, in order."""
        return _ordered(self._children)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._children[k] for k in _ordered(self._children))

    def __len__(self) -> int:
        return len(self._children)

    def __str__(self) -> str:
        raise TemplateError(
            f"`{self._prefix}` is a group of values, not a value; use one of its keys: "
            + ", ".join(f"{self._prefix}.{k}" for k in _ordered(self._children)[:8])
        )


def _ordered(children: dict[str, Any]) -> list[str]:
    keys = list(children)
    if keys and all(k.isdigit() for k in keys):
        return sorted(keys, key=int)
    return sorted(keys)


def build_namespaces(store: ResultsStore) -> dict[str, Any]:
    """Nest the store's dotted keys into :class:`Namespace` objects, one per first segment."""
    tree: dict[str, Any] = {}
    for key in store:
        parts = key.split(".")
        node = tree
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = Bound(store.values[key], store.style)

    def wrap(prefix: str, node: Any) -> Any:
        if isinstance(node, dict):
            return Namespace(prefix, {k: wrap(f"{prefix}.{k}" if prefix else k, v) for k, v in node.items()})
        return node

    return {k: wrap(k, v) for k, v in tree.items()}


class KeyUndefined(jinja2.StrictUndefined):
    """StrictUndefined whose message names the full dotted key that was not found."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:  # type: ignore[override]
        obj, name = self._undefined_obj, self._undefined_name
        if isinstance(obj, Namespace):
            key = f"{obj.prefix}.{name}"
            options = [f"{obj.prefix}.{k}" for k in obj.names()]
        elif isinstance(obj, Bound):
            key = f"{obj.key}.{name}"
            options = [f"{obj.key}.{p}" for p in PARTS.get(obj.kind, ())]
        else:
            key = str(name)
            options = []
        hint = difflib.get_close_matches(key, options, n=3, cutoff=0.5)
        msg = f'undefined key "{key}"'
        if hint:
            msg += " (did you mean " + ", ".join(f'"{h}"' for h in hint) + "?)"
        elif options:
            msg += "; defined there: " + ", ".join(options[:8])
        return msg


# A block tag closing a line of prose (``...arms.{% endif %}``): trim_blocks would eat its newline
# and glue the line's last word to the next line's first.
_PROSE_THEN_TAG = re.compile(r"^(?P<line>[^\n]*?\S[^\n]*?[^-+]%\})\n", re.MULTILINE)  # not -%} or +%}
_TAG = re.compile(r"\{%.*?%\}")


class KeepProseNewlines(Extension):
    """``trim_blocks`` only where a block tag stands alone on its line.

    Jinja's ``trim_blocks`` removes the newline after every block tag; that is right for a tag
    on its own line, but after a line of prose ending in ``{% endif %}`` it joins two words of
    the manuscript. This doubles the newline of such lines, so exactly one survives.
    """

    def preprocess(self, source: str, name: str | None, filename: str | None = None) -> str:
        def keep(match: re.Match[str]) -> str:
            line = match.group("line")
            start = line.rfind("{%")
            own_tag = start != -1 and "%}" not in line[start:-2]  # not the end of a multi-line tag
            prose = _TAG.sub("", line).strip()
            return line + ("\n\n" if own_tag and prose else "\n")

        return _PROSE_THEN_TAG.sub(keep, source)


#: Largest string, list or number of digits a template expression may build.
MAX_TEMPLATE_SIZE = 1_000_000
_PADDERS = {"ljust", "rjust", "center", "zfill", "expandtabs"}


class LimitedSandbox(SandboxedEnvironment):
    """The sandbox plus a size limit on arithmetic, so ``'x' * 10**12`` or ``9 ** 9 ** 9``
    in a template is a template error, not a machine out of memory."""

    intercepted_binops = frozenset({"*", "**", "+", "//", "%", "/", "-"})

    def call_binop(self, context: Any, operator: str, left: Any, right: Any) -> Any:
        """Refuse an operation whose result would exceed :data:`MAX_TEMPLATE_SIZE`."""
        from jinja2.sandbox import SecurityError

        limit = MAX_TEMPLATE_SIZE
        sized = (str, bytes, list, tuple)
        if operator == "*":
            for seq, n in ((left, right), (right, left)):
                if isinstance(seq, sized) and isinstance(n, int) and len(seq) * max(n, 0) > limit:
                    raise SecurityError(f"`*` would build {len(seq) * n:,} items; the limit is {limit:,}")
        if operator == "+" and isinstance(left, sized) and isinstance(right, sized) \
                and len(left) + len(right) > limit:
            raise SecurityError(f"`+` would build {len(left) + len(right):,} items; the limit is {limit:,}")
        if operator == "**" and isinstance(left, int) and isinstance(right, int) and right > 0 \
                and abs(left) > 1 and abs(left).bit_length() * right > limit * 4:
            raise SecurityError(f"`**` would build a number of about {int(abs(left).bit_length() * right * 0.30103):,} "
                                f"digits; the limit is {limit:,}")
        try:
            return super().call_binop(context, operator, left, right)
        except OverflowError as exc:
            raise SecurityError(f"`{operator}` overflows ({exc})") from None

    def call(self, __context: Any, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        """Refuse ``'x'.ljust(10**12)`` and the like (padding beyond the size limit)."""
        from jinja2.sandbox import SecurityError

        name = getattr(__obj, "__name__", "")
        padder = name in _PADDERS and isinstance(getattr(__obj, "__self__", None), str)
        if padder and any(isinstance(a, int) and a > MAX_TEMPLATE_SIZE for a in (*args, *kwargs.values())):
            raise SecurityError(f"`{name}` beyond {MAX_TEMPLATE_SIZE:,} characters")
        return super().call(__context, __obj, *args, **kwargs)


class _BytecodeCache(jinja2.BytecodeCache):
    """Compiled templates kept in memory for the life of the process and on disk between
    processes. Jinja keys each entry on the template's name and file and checks the source's
    checksum before using it, so a long-running process (the preview) recompiles only the
    templates that changed, and a cold build compiles none that an earlier build compiled.

    The disk copy is Jinja's :class:`~jinja2.FileSystemBytecodeCache` in its per-user folder
    (``_jinja2-cache-<uid>`` in the system's temporary folder, readable by the user only, which
    Jinja checks), under a name that changes with Jinja's version and with this module's and
    the lexer settings' source (what the compiled code depends on besides the template). A
    cache that cannot be used is skipped: the templates are compiled as without one.
    """

    def __init__(self) -> None:
        self._store: dict[str, bytes] = {}
        self._disk: jinja2.FileSystemBytecodeCache | bool | None = False  # False: not opened yet

    def _files(self) -> jinja2.FileSystemBytecodeCache | None:
        if self._disk is False:
            import hashlib

            from analysis import templatesyntax

            digest = hashlib.sha256(jinja2.__version__.encode())
            for module in (__file__, templatesyntax.__file__):
                digest.update(Path(module).read_bytes())
            try:
                self._disk = jinja2.FileSystemBytecodeCache(pattern=f"cm-{digest.hexdigest()[:16]}-%s.cache")
            except (OSError, RuntimeError):  # no safe folder: memory only
                self._disk = None
        return self._disk or None

    def load_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        data = self._store.get(bucket.key)
        if data is not None:
            bucket.bytecode_from_string(data)
            return
        disk = self._files()
        if disk is not None:
            try:
                disk.load_bytecode(bucket)
            except Exception:  # unreadable or truncated: compile instead
                bucket.reset()

    def dump_bytecode(self, bucket: jinja2.bccache.Bucket) -> None:
        self._store[bucket.key] = bucket.bytecode_to_string()
        disk = self._files()
        if disk is not None:
            with contextlib.suppress(OSError):
                disk.dump_bytecode(bucket)


_BYTECODE_CACHE = _BytecodeCache()


def make_environment(search_path: list[Path]) -> SandboxedEnvironment:
    """The strict, sandboxed environment shared by every study's templates."""
    env = LimitedSandbox(
        loader=jinja2.FileSystemLoader([str(p) for p in search_path]),
        extensions=[KeepProseNewlines],
        undefined=KeyUndefined,
        autoescape=False,
        **LEXER_SETTINGS,
        # autoescape for markdown: every `{{ ... }}` goes through to_markdown
        finalize=to_markdown,
        bytecode_cache=_BYTECODE_CACHE,  # every environment is made here, with the same settings
    )
    env.filters["code"] = code_span
    env.filters["email"] = email_link
    env.filters["join"] = join_markdown
    # front matter: `title: {{ study.title | yaml }}`; tojson is kept as a synonym (JSON strings
    # are YAML) but escapes for markdown too, since pandoc reads metadata strings as markdown
    env.filters["yaml"] = yaml_value
    env.filters["tojson"] = yaml_value
    return env


def join_markdown(items: Any, separator: str = "", attribute: str | None = None) -> Markdown:
    """Jinja's ``join`` for markdown: each item printed as ``{{ item }}`` would print it
    (plain strings escaped, markup kept), so a joined list is escaped exactly once."""
    values = [getattr(i, attribute) if attribute else i for i in items]
    return Markdown(to_markdown(separator).join(to_markdown(v) for v in values))


_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")


def email_link(address: str) -> Markdown:
    """An email address as a ``mailto:`` autolink; anything that is not a plain address is
    printed as escaped text instead."""
    text = str(address)
    return Markdown(f"<{text}>") if _EMAIL.fullmatch(text) else to_markdown(text)


# `{{ x }}` inside an inline code span on one line: the escapes of x would show literally
_VALUE_IN_CODE = re.compile(r"(?<!`)`(?!`)[^`\n]*\{\{[^`\n]*\}\}[^`\n]*`(?!`)")


def check_code_spans(folders: list[Path], templates_root: Path) -> None:
    """Refuse a ``{{ ... }}`` written inside backticks: what it prints is escaped markdown, and
    inside a code span a reader would see the backslashes. ``{{ x | code }}`` makes the code
    span itself. Raises :class:`TemplateError` with the file and line."""
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in sorted(folder.rglob("*.j2")):
            text = path.read_text(encoding="utf-8", errors="replace")
            # Jinja comments may show examples
            text = re.sub(re.escape(COMMENT_START) + ".*?" + re.escape(COMMENT_END),
                          lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
            for number, line in enumerate(text.splitlines(), 1):
                match = _VALUE_IN_CODE.search(line)
                if match:
                    shown = _relative(str(path), templates_root)
                    raise TemplateError(
                        f"{shown}:{number}: {match.group(0)} prints a value inside a code span, where "
                        "its markdown escapes would show; write `{{ value | code }}` without the backticks"
                    )


def check_template_links(folders: list[Path], templates_root: Path) -> None:
    """Refuse template folders holding a symlink that resolves outside ``templates_root``.

    Jinja's loader follows symlinks, so one such link would let ``{% include %}`` copy any
    file of the machine into the manuscript. Raises :class:`ConfigError` naming the link.
    """
    base = templates_root.resolve()
    for folder in folders:
        if not folder.exists():
            continue
        for current, dirs, files in os.walk(folder):
            for name in [*dirs, *files]:
                path = Path(current) / name
                if not path.is_symlink():
                    continue
                target = path.resolve()
                if not target.is_relative_to(base):
                    try:  # the link's own name, not where it points
                        shown = str(path.relative_to(templates_root.parent))
                    except ValueError:
                        shown = str(path)
                    raise ConfigError(
                        f"{shown}: a symlink to {target}, outside "
                        f"{templates_root.name}/; template folders may link only to files inside "
                        f"{templates_root.name}/ (replace the link with a copy of the file)"
                    )


def _template_location(exc: BaseException, templates_root: Path) -> tuple[str, int | None]:
    """The template file and line where ``exc`` was raised, from Jinja's rewritten traceback."""
    if isinstance(exc, jinja2.TemplateSyntaxError):
        return exc.filename or exc.name or "?", exc.lineno
    for frame in reversed(traceback.extract_tb(exc.__traceback__)):
        if frame.filename and frame.filename.endswith((".j2", ".jinja", ".md", ".qmd")):
            return frame.filename, frame.lineno
    return "?", None


def _relative(path: str, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve().parent))
    except ValueError:
        return path


class Helpers:
    """Functions and filters templates may call. Wording that depends on a result is
    computed here from the test result, so prose cannot claim what the data do not show."""

    def __init__(self, store: ResultsStore, alpha: float, table_renderer: Any) -> None:
        self.store = store
        self.style = store.style
        self.alpha = alpha
        self.table_renderer = table_renderer

    # -- values -----------------------------------------------------------------------
    def digits(self, value: Bound, n: int) -> Bound:
        """Re-print a value with ``n`` decimals (same key, same raw number)."""
        return value.with_text(format_value(value.raw, value.kind, n, self.style))

    def month_year(self, value: Bound) -> Bound:
        """An ISO date value printed as "January 2014"."""
        return value.with_text(fmt_month_year(value.raw))

    def pval(self, value: Bound) -> Markdown:
        """"*P* = 0.032" or "*P* < 0.001", bound to the P value's key."""
        phrase = fmt_p_phrase(value.raw, self.style.p_digits if value.digits is None else value.digits, "")
        return Markdown(f'[*P* {md_escape(phrase.strip())}]{{.val title="{md_attr(value.key)}"}}')

    def significant(self, value: Bound) -> bool:
        """Whether a P value is below the study's alpha (a Jinja test: ``x is significant``)."""
        if value.kind != "p":
            raise TemplateError(f"`{value.key}` is not a P value (kind {value.kind!r})")
        return value.raw < self.alpha

    def differs(self, p: Bound, yes: str, no: str, cite: bool = True) -> Markdown:
        """Pick the wording by the test's result and cite its P value: ``yes (P = 0.032)``;
        ``cite=False`` leaves the P value out (as :meth:`wording`). The wordings are plain
        text (escaped) unless they are markup made by ``lit()``."""
        words = to_markdown(yes if self.significant(p) else no)
        return Markdown(f"{words} ({self.pval(p)})") if cite else words

    def wording(self, p: Bound, yes: str, no: str) -> Markdown:
        """Pick the wording by the test's result without citing the P value."""
        return self.differs(p, yes, no, cite=False)

    def direction(self, a: Bound | float, b: Bound | float, more: str, less: str, same: str) -> Markdown:
        """Compare two values: ``more`` if a > b, ``less`` if a < b, else ``same``.

        Either may be a plain number (a threshold: ``direction(hr, 1, "higher", "lower",
        "equal")``). A value is compared as printed, so values that print alike count as the
        same (a reader cannot see the difference): an n (%) by its percentage, a mean ± SD by
        its mean, a median (CI) by its median, a ratio (CI) by its estimate."""
        if isinstance(a, Bound) and isinstance(b, Bound) and a.text == b.text:
            return to_markdown(same)
        x, y = _shown(a), _shown(b)
        if x is None or y is None:
            return to_markdown(same)
        return to_markdown(more if x > y else less if x < y else same)

    def duration(self, value: Bound, unit: str) -> Markdown:
        """A median time with its unit ("30.03 months"), or "not reached" when it was not."""
        raw = value.raw.get("median") if isinstance(value.raw, dict) else value.raw
        if raw is None or raw == self.style.nr:
            return Markdown(value.span("not reached"))
        number = value.median if value.kind == "median_ci" else value
        return Markdown(f"{number} {to_markdown(unit)}")

    def and_list(self, items: Any, conj: str = "and") -> Markdown:
        """"1, 8 and 15" from a group of values, each printed bound (plain strings escaped)."""
        parts = [to_markdown(i) for i in items]
        if len(parts) <= 1:
            return Markdown("".join(parts))
        return Markdown(", ".join(parts[:-1]) + f" {to_markdown(conj)} " + parts[-1])

    def lit(self, text: str) -> Markdown:
        """The explicit escape hatch for digits that are not numbers (``del(17p)``), and
        the way to write markup in a helper's wording. Each use is listed by the lint, so a
        reviewer sees every one. Its argument is trusted as markup: pass it a string
        literal of the template, never a value from settings or data."""
        return Markdown(text) if isinstance(text, str) else to_markdown(text)

    # -- tables and figures --------------------------------------------------------------
    def table(self, table_id: str) -> Markdown:
        """The table ``table_id`` of the store as a pandoc grid table (every cell escaped)."""
        if table_id not in self.store.tables:
            raise TemplateError(
                f'undefined table "{table_id}"; tables: {sorted(self.store.tables)}'
            )
        # blank lines around: a grid table glued to a paragraph is not a table to pandoc
        return Markdown("\n\n" + self.table_renderer(self.store.tables[table_id], self.style).strip("\n") + "\n\n")

    def figure(self, fig_id: str, caption: str | None = None, width: str | None = None) -> Markdown:
        """The figure ``fig_id`` with its caption (plain text unless made by ``lit()``)."""
        if fig_id not in self.store.figures:
            raise TemplateError(f'undefined figure "{fig_id}"; figures: {sorted(self.store.figures)}')
        fig = self.store.figures[fig_id]
        path = fig.files.get("svg") or next(iter(fig.files.values()))
        alt = f' fig-alt="{md_attr(fig.alt)}"' if fig.alt else ""
        width = str(width or fig.width)
        if not re.fullmatch(r"[\w.%]+", width):
            width = f'"{md_attr(width)}"'
        text = to_markdown(caption or fig.caption)
        return Markdown(f"\n\n![{text}]({path}){{#{fig_id} width={width}{alt}}}\n\n")


_SPAN = re.compile(r'\[((?:[^\]\\]|\\.)*)\]\{\.val[^}]*\}')


def render_text(source: str, store: ResultsStore, alpha: float = 0.05, plain: bool = False,
                context: dict[str, Any] | None = None) -> str:
    """Render one template string against a results store, with every helper of the manuscript.

    For trying a sentence (in a notebook, in the docs): ``plain=True`` prints each bound value as
    its text instead of the span that carries its key.

    >>> render_text('{{ differs(p.x, "differed", "did not differ") }}', store, plain=True)  # doctest: +SKIP
    'differed (*P* = 0.032)'
    """
    env = make_environment([])
    _install_helpers(env, Helpers(store, alpha, _table_markdown))
    try:
        text = env.from_string(source).render(**build_namespaces(store), **(context or {}))
    except (jinja2.TemplateError, TemplateError, TypeError, ValueError, AttributeError) as exc:
        message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
        raise TemplateError(f"<string>: {message}") from None
    if plain:
        text = _SPAN.sub(lambda m: re.sub(r"\\(.)", r"\1", m.group(1)), text)
    return text


def _install_helpers(env: SandboxedEnvironment, helpers: Helpers) -> dict[str, Any]:
    """Register the filters, tests and globals templates may use; returns the globals."""
    for fn in ("digits", "month_year", "pval", "and_list", "duration"):
        env.filters[fn] = getattr(helpers, fn)
    # `x | md`: a plain string printed as literal text (what every `{{ }}` does; kept explicit)
    env.filters["md"] = to_markdown
    env.tests["significant"] = helpers.significant
    globals_ = {
        "table": helpers.table, "figure": helpers.figure, "pval": helpers.pval,
        "differs": helpers.differs, "direction": helpers.direction, "lit": helpers.lit,
        "and_list": helpers.and_list, "wording": helpers.wording, "duration": helpers.duration,
    }
    env.globals.update(globals_)
    return globals_


#: (a table of results.json as JSON, the style) -> its markdown, for the tables rendered last
_TABLE_MARKDOWN: dict[tuple[str, Style], str] = {}


def _table_markdown(table: dict[str, Any], style: Style) -> str:
    """A table of the store as markdown (:func:`analysis.tables.render.to_markdown`), remembered
    for the newest 64 by content and style: the preview renders on every edit, and a template
    edit leaves the tables as they were."""
    from analysis.tables.render import to_markdown

    try:
        key = (json.dumps(table, sort_keys=True), style)
    except (TypeError, ValueError):  # not plain JSON data (a Table object): nothing to key on
        return to_markdown(table, style)
    text = _TABLE_MARKDOWN.get(key)
    if text is None:
        text = _TABLE_MARKDOWN[key] = to_markdown(table, style)
        while len(_TABLE_MARKDOWN) > 64:  # the oldest go first
            del _TABLE_MARKDOWN[next(iter(_TABLE_MARKDOWN))]
    return text


def render_manuscript(
    templates_root: Path,
    study_id: str,
    store: ResultsStore,
    context: dict[str, Any],
    entry: str = "manuscript.qmd.j2",
    alpha: float = 0.05,
) -> str:
    """Render a study's entry template to Quarto markdown.

    Raises :class:`TemplateError` with ``template:line: message`` for any template problem
    (the ``lit()`` escapes are listed by the lint, not here).
    """
    folders = [templates_root / study_id, templates_root / "_shared"]
    check_template_links(folders, templates_root)
    check_code_spans(folders, templates_root)
    env = make_environment(folders)
    helpers = Helpers(store, alpha, _table_markdown)
    names = build_namespaces(store)
    globals_ = _install_helpers(env, helpers)
    clash = sorted(set(names) & (set(globals_) | set(context)))
    if clash:
        raise TemplateError(f"result key group(s) {clash} clash with template helper names; rename the keys")
    try:
        template = env.get_template(entry)
        text = template.render(**names, **context)
    except (jinja2.TemplateError, TemplateError, TypeError, ValueError, AttributeError) as exc:
        where, line = _template_location(exc, templates_root)
        where = _relative(where, templates_root)
        loc = f"{where}:{line}" if line else where
        message = exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)
        raise TemplateError(f"{loc}: {message}") from None
    check_front_matter(text, f"templates/{study_id}/{entry}")
    return text


_FRONT_MATTER = re.compile(r"\A---[ \t]*\n(.*?\n)(?:---|\.\.\.)[ \t]*(?:\n|\Z)", re.S)


def check_front_matter(text: str, where: str) -> None:
    """Fail with :class:`TemplateError` when the rendered YAML front matter does not parse
    (typically a setting printed there without ``| yaml``) or is not a mapping."""
    match = _FRONT_MATTER.match(text)
    if match is None:
        return
    from analysis.yamlio import YAMLError, safe_load

    try:
        meta = safe_load(match.group(1))
    except YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f" (line {mark.line + 2} of the generated front matter)" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise TemplateError(
            f"{where}: the YAML front matter it generates is not valid YAML{line}: {problem}; "
            "print settings there as `{{ value | yaml }}`, which quotes and escapes them"
        ) from None
    if meta is not None and not isinstance(meta, dict):
        raise TemplateError(f"{where}: the YAML front matter it generates is not a mapping of keys to values")
