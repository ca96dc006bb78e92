"""The preview's HTML renderer: one pandoc kept running that reads only what an edit changed.

A pandoc call for the manuscript's HTML takes about half a second, a third of it reading the
markdown, most of which an edit did not change; and a second pandoc reads it again for the
word counts. The preview (:mod:`analysis.preview_worker`) instead keeps one ``pandoc lua``
process (``html-session.lua``) for as long as it runs. :class:`HtmlSession` cuts the source into
chunks before its top-level headings (:func:`chunks`), and pandoc reads again only the chunks
it has not seen; it then runs the very steps of the command line :func:`analysis.render.render`
would run (metadata, heading shift, the filters and citeproc in their order, the writer and
its template) on the whole document.

The output is the command line's, byte for byte (the tests compare them for every study),
and so is the source as pandoc's reader gives it (for the word counts), assembled from the
chunks' readings. What the reader numbers across the document is carried from chunk to
chunk: the identifiers of headings (a second "Patients" is ``patients-1``) and the note
numbers of citations. Where a chunk could still read differently on its own, the source is
read whole:

* it is not cut at all when it has reference-style links or notes (a chunk may use what
  another defines), example lists, LaTeX macros, HTML comments, or an unclosed fence;
  headings inside fenced code or divs are not cuts;
* it is read whole when a chunk (other than the first) has metadata, when a heading
  identifier is already used, when a ``[`` is left unresolved (a reference to a heading in
  another chunk), or when a link goes to a heading whose name another heading has.

And the session declines, so that the caller runs the command line, on a command with an
option it does not know, on an error, and on any warning: pandoc's message, with its line
numbers, is the one the author should see, and the build treats a warning as an error.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["HtmlSession", "chunks"]

SCRIPT = Path(__file__).with_name("html-session.lua")

_ATX = re.compile(r"#{1,6}(?:[ \t]|$)")
_FENCE = re.compile(r"(`{3,}|~{3,})")
_DIV = re.compile(r":{3,}")
#: Sources with these are read whole: what they define or number spans the whole document
#: (LaTeX macros, HTML comments; example lists, numbered across the document, which their
#: ``(@label)`` references need).
_WHOLE_ONLY = ("\\newcommand", "\\renewcommand", "\\def", "\\let", "<!--")
_EXAMPLE_ITEM = re.compile(r"^[ \t]*\(@[\w-]*\)[ \t]", re.MULTILINE)
#: A reference link's or a note's definition: a chunk may use what another defines.
_DEFINITION = re.compile(r"^ {0,3}\[[^\]\n]+\]:", re.MULTILINE)


def chunks(text: str) -> list[str]:
    """``text`` cut before each top-level ATX heading that follows a blank line, outside the
    YAML front matter, fenced code and fenced divs; ``[text]`` when it cannot be cut safely.
    The pieces joined are ``text``."""
    if any(mark in text for mark in _WHOLE_ONLY) or _EXAMPLE_ITEM.search(text) or _DEFINITION.search(text):
        return [text]
    lines = text.split("\n")  # pandoc's lines (not str.splitlines, which also cuts at \f, \u2028 ...)
    lines = [line + "\n" for line in lines[:-1]] + ([lines[-1]] if lines[-1] else [])
    starts = [0]
    i = 0
    if lines and lines[0].rstrip("\r\n") == "---":  # the front matter: up to its closing line
        i = next((j + 1 for j in range(1, len(lines)) if lines[j].rstrip("\r\n") in ("---", "...")), len(lines))
    fence: str | None = None
    depth = 0
    blank = True
    for j in range(i, len(lines)):
        line = lines[j]
        bare = line.rstrip("\r\n")
        if fence is not None:
            if bare.strip() and bare.lstrip().startswith(fence) and not bare.strip().strip(fence[0]):
                fence = None
        elif (match := _FENCE.match(bare.lstrip())) and len(bare) - len(bare.lstrip()) < 4:
            fence = match.group(1)
        elif bare == "---" and blank and j + 1 < len(lines) and lines[j + 1].strip():
            return [text]  # perhaps a metadata block in the middle, which a cut could split
        elif _DIV.match(bare):
            depth = depth - 1 if not bare.strip(": \t") else depth + 1
            depth = max(depth, 0)
        elif depth == 0 and blank and _ATX.match(line) and j > i:
            starts.append(j)
        blank = not bare.strip()
    if fence is not None or depth:
        return [text]  # unbalanced: pandoc decides what it means, reading the whole
    return ["".join(lines[a:b]) for a, b in zip(starts, [*starts[1:], len(lines)], strict=True)]


#: The command-line options the session runs itself; a command with any other is declined.
_FLAGS = {"--standalone", "--section-divs", "--citeproc"}
_VALUED = {"--from", "--to", "--lua-filter", "--resource-path", "--css", "--include-in-header", "--metadata",
           "--wrap", "--shift-heading-level-by", "--output"}


def _request(cmd: list[str], cwd: Path) -> dict[str, Any] | None:
    """The session's request standing for the pandoc command ``cmd`` (run in ``cwd``), or
    None if ``cmd`` has an option it does not know."""
    args = cmd[1:]
    source = None
    opts: dict[str, list[str]] = {}
    steps: list[str] = []
    flags: set[str] = set()
    k = 0
    while k < len(args):
        arg = args[k]
        name, eq, value = arg.partition("=")
        if arg in _FLAGS:
            flags.add(arg)
            if arg == "--citeproc":
                steps.append("citeproc")
            k += 1
            continue
        if name in _VALUED:
            if not eq:
                if k + 1 >= len(args):
                    return None
                value = args[k + 1]
                k += 1
            opts.setdefault(name, []).append(value)
            if name == "--lua-filter":
                steps.append(str((cwd / value).resolve()))
            k += 1
            continue
        if arg.startswith("-") or source is not None:
            return None
        source = arg
        k += 1
    def one(name: str, default: str | None = None) -> str | None:
        values = opts.get(name, [] if default is None else [default])
        return values[0] if len(values) == 1 else None

    shift = one("--shift-heading-level-by", "0")
    metadata = dict(item.partition("=")[::2] for item in opts.get("--metadata", []))
    if (source is None or "--standalone" not in flags or one("--to") != "html5" or one("--resource-path", ".") != "."
            or None in (one("--from"), one("--output"), one("--wrap", "auto"))
            or shift is None or not shift.isdigit()  # a negative shift makes a title of a heading: not done here
            or len(metadata) != len(opts.get("--metadata", []))):  # a key given twice makes a list
        return None
    variables: dict[str, Any] = {"sourcefile": source, "outputfile": one("--output"), "curdir": str(cwd)}
    if "--css" in opts:
        variables["css"] = opts["--css"]
    try:
        if "--include-in-header" in opts:
            variables["header-includes"] = [(cwd / p).read_text(encoding="utf-8-sig")
                                            for p in opts["--include-in-header"]]
    except (OSError, UnicodeDecodeError):
        return None  # the command line says what is wrong with it
    return {
        "source": str(cwd / source), "reader": one("--from"), "writer": "html5", "columns": 72,
        "metadata": metadata, "shift": int(shift), "steps": steps, "wrap": f"wrap-{one('--wrap', 'auto')}",
        "section_divs": "--section-divs" in flags, "variables": variables,
        "cwd": str(cwd), "output": str(cwd / one("--output")),
    }


class HtmlSession:
    """A ``pandoc lua`` process kept for many HTML renderings (see the module docstring).

    :meth:`html` runs one pandoc HTML command through it; :meth:`close` (or the end of the
    process) stops it. ``served`` counts the renderings it did, ``whole`` those that read the
    source whole (``why`` says why the last did), ``received`` the chunk readings the last one
    sent (those this side did not hold yet); ``declined`` says why the last declined one was.
    A pandoc process that ends is started again by the next rendering, unless it never
    answered (a pandoc without ``pandoc lua``): then ``disabled`` says why, and the session
    declines every rendering.
    """

    def __init__(self) -> None:
        self._proc: subprocess.Popen[bytes] | None = None
        self._env: dict[str, str] | None = None
        self._log: Any = None
        self._blocks: dict[str, dict[str, Any]] = {}  # a chunk's tag -> pandoc's JSON of the chunk
        self.served = 0
        self.whole = 0
        self.received = 0  # chunk readings the last rendering sent (those it did not have)
        self.why: str | None = None  # why the last rendering read the source whole, if it did
        self.declined: str | None = None  # why the last declined rendering was declined
        self.disabled: str | None = None  # why the session no longer tries (a pandoc that cannot run it)
        self._answered = 0  # replies of the current process

    def _start(self, exe: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        if self._proc is not None and (self._proc.poll() is not None or env != self._env):
            self.close()
        if self._proc is None:
            self._log = tempfile.TemporaryFile()  # noqa: SIM115 - closed in close()
            self._proc = subprocess.Popen([exe, "lua", str(SCRIPT)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                          stderr=self._log, env=env)
            self._env = dict(env)
            self._blocks = {}
            self._answered = 0
        return self._proc

    def _ask(self, proc: subprocess.Popen[bytes], request: dict[str, Any]) -> dict[str, Any] | None:
        try:
            proc.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
            proc.stdin.flush()
            reply = json.loads(proc.stdout.readline())
            self._answered += 1
            return reply
        except (OSError, ValueError):  # it died, or garbled its reply: the next rendering starts another
            self._log.seek(0)
            said = self._log.read().decode("utf-8", "replace").strip()[-500:]
            self.declined = "the pandoc process ended" + (f": {said}" if said else "")
            if not self._answered:  # it never answered: a pandoc without `lua`, or one that cannot run the script
                self.disabled = self.declined
            self.close()
            return None

    def html(self, cmd: list[str], cwd: Path, env: dict[str, str]) -> dict[str, Any] | None:
        """Run the pandoc command ``cmd`` (an HTML one of :func:`analysis.render.render`) in
        ``cwd``; return the source as pandoc's reader gave it (its JSON AST, before any filter),
        or None if the session declined and wrote nothing: then run ``cmd`` itself."""
        request = _request(cmd, cwd)
        if request is None or self.disabled:
            return None
        pieces = chunks(Path(request.pop("source")).read_text(encoding="utf-8"))
        reply = self._ask(self._start(cmd[0], env), {**request, "chunks": pieces, "have": list(self._blocks)})
        if reply is None or not reply.get("ok"):
            self._blocks = {}
            if reply is not None:
                self.declined = reply.get("why")
            return None
        known = {}
        self.received = sum("json" in part for part in reply["chunks"])
        for part in reply["chunks"]:
            tag = part["tag"]
            if "json" in part:
                known[tag] = part["json"]
            elif tag in self._blocks:
                known[tag] = self._blocks[tag]
            else:  # the process answered for a tag this side no longer has: no promise kept
                self._blocks = {}
                return None
        self._blocks = known
        self.served += 1
        self.why = reply.get("why")
        self.whole += self.why is not None or len(pieces) == 1
        parts = [known[part["tag"]] for part in reply["chunks"]]
        return {**parts[0], "blocks": [block for part in parts for block in part["blocks"]]}

    def close(self) -> None:
        """Stop the pandoc process (started again by the next :meth:`html`)."""
        if self._proc is not None:
            try:
                self._proc.stdin.close()
                self._proc.wait(timeout=5)
            except (OSError, subprocess.TimeoutExpired):
                self._proc.kill()
                self._proc.wait()
            self._proc = None
        if self._log is not None:
            self._log.close()
            self._log = None

    def __enter__(self) -> HtmlSession:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
