"""The files of each figure: the one SVG the analysis saves, and what the formats make of it.

The analysis stage draws every figure once, as SVG (text as outlines, so it looks the same
on every machine; :func:`save_svgs`, most of them drawn while the script runs by the figure
worker, :mod:`analysis.figureworker`): the HTML embeds it and typst places it in the PDF.
The other files are made from that SVG here, with typst (in this process, its own threads)
instead of drawing each figure again with matplotlib:

* ``<id>.png`` at 300 pixels per inch, for the DOCX (Word's SVG support varies by version);
* ``<id>.pdf`` (vector) and ``<id>.600dpi.png``, the files a journal's submission system
  asks for (the ``figures`` format).

Drawing a figure with matplotlib costs about as much for each file as for the first, so four
files cost four drawings; typst converts all figures of a study at once in a fraction of that
(see ``benchmarks/run_all.py``). The PNG files carry their resolution (a ``pHYs`` chunk), which
pandoc reads to size the picture in Word, and no timestamp: the bytes depend on the SVG only.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import struct
import sys
import tempfile
import threading
import traceback
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from analysis.errors import RenderError, ResultsError

__all__ = ["DOCX_PPI", "SUBMISSION_PPI", "DocxPictures", "can_fork", "docx_pngs", "png_size", "save_svgs",
           "submission_files", "svg_bytes", "with_ppi"]

#: Resolution of the PNG a DOCX embeds (print quality at the figure's own size).
DOCX_PPI = 300
#: Resolution of the submission PNG (the usual minimum for line art).
SUBMISSION_PPI = 600
_PAGE = "#set page(width: auto, height: auto, margin: 0pt, fill: white)\n"


def svg_bytes(figure: Any) -> bytes:
    """``figure`` (a matplotlib Figure) as SVG with no timestamp inside; call within
    :func:`analysis.figures.style.figure_context`, whose settings fix the SVG's ids."""
    # The builders lay a figure out at its final (journal column) size, so it is saved as
    # drawn: no bbox_inches="tight", which would draw it a second time to crop it.
    buf = io.BytesIO()
    figure.savefig(buf, format="svg", metadata={"Date": None})
    return buf.getvalue()


def _save_svg(fig_id: str, record: Any, folder: Path) -> None:
    (folder / f"{fig_id}.svg").write_bytes(svg_bytes(record.drawn()))


def can_fork() -> bool:
    """A child process is forked only where that is safe: on Linux (macOS's system libraries
    do not survive fork), from a process with no other threads (a thread's locks would stay
    held in the child), and not under a debugger's or coverage tool's trace function."""
    return sys.platform == "linux" and threading.active_count() == 1 and sys.gettrace() is None


def save_svgs(figures: Mapping[str, Any], folder: Path, *, background: bool = False,
              worker: Any = None) -> Callable[[], None]:
    """Save each figure of ``figures`` (id -> :class:`analysis.results.Figure`) as
    ``folder/<id>.svg`` with no timestamp inside; return ``finish()``, which waits for the
    saving to end and raises if it failed.

    The figures handed to the figure ``worker`` (:class:`analysis.figureworker.FigureWorker`)
    while the analysis ran are drawn there already: ``finish()`` collects its files. The
    others are drawn (when they are recipes) and saved here, and since matplotlib's drawing is
    Python and holds the interpreter, the second core is used by a forked child process where
    that is safe (see :func:`can_fork`): the child saves every such figure when ``background``
    (the caller goes on with other work, such as rendering the templates, and calls
    ``finish()`` when it needs the files), half of them otherwise. Where forking is not safe,
    they are saved here, before this returns. A child or worker that fails is not trusted:
    ``finish()`` draws and saves its figures again here, so the error raised is the real one.
    Calling ``finish()`` again does nothing.
    """
    folder.mkdir(parents=True, exist_ok=True)
    ids = sorted(figures)
    for fig_id in ids:
        if figures[fig_id].figure is None:
            raise ResultsError(f"figure {fig_id!r} has no matplotlib figure to save")
    for fig_id in ids:  # where the files will be, for results.json (written while they are saved)
        figures[fig_id].files = {"svg": f"figures/{fig_id}.svg", "png": f"figures/{fig_id}.png"}
    drawing = set(worker.submitted) if worker is not None else set()
    local = [i for i in ids if i not in drawing]
    theirs = (local if background else local[1::2]) if can_fork() and local else []
    ours = [i for i in local if i not in theirs]
    pid = 0
    if local:
        from analysis.figures.style import figure_context

        with figure_context():  # the house rc (fixed SVG hash salt) must hold at save time
            if theirs:
                import matplotlib.backends.backend_svg  # noqa: F401 - imported before the fork, not in both

                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:  # the child: save, and leave without running the parent's exit handlers
                    code = 0
                    try:
                        for fig_id in theirs:
                            _save_svg(fig_id, figures[fig_id], folder)
                    except BaseException:
                        traceback.print_exc(limit=-3)
                        code = 1
                    finally:
                        os._exit(code)
            for fig_id in ours:
                _save_svg(fig_id, figures[fig_id], folder)

    done: list[bool] = []

    def finish() -> None:
        if done:  # once is enough: a second call has nothing to wait for
            return
        done.append(True)
        again = worker.collect(folder) if worker is not None else []
        if pid:
            _, status = os.waitpid(pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                again += theirs
        if again:
            from analysis.figures.style import figure_context

            with figure_context():
                for fig_id in again:
                    _save_svg(fig_id, figures[fig_id], folder)
        drawn = [figures[i].figure for i in ids if figures[i].recipe is None]
        if drawn:  # figures drawn in this process: free them
            import matplotlib.pyplot as plt

            for figure in drawn:
                plt.close(figure)

    return finish


def _svgs(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.svg") if p.is_file())


def _typst(source: str, folder: Path, fmt: str, ppi: int | None = None, epoch: int | None = None) -> list[bytes]:
    """Compile a typst ``source`` whose images lie in ``folder``; one bytes object per page."""
    try:
        import typst
    except ImportError:  # pragma: no cover - a dependency
        raise RenderError("the typst wheel is not installed: run `make report` to install it") from None
    with tempfile.NamedTemporaryFile("w", suffix=".typ", dir=folder, encoding="utf-8", delete=False) as f:
        f.write(source)
    main = Path(f.name)
    try:
        kwargs = {"ppi": ppi} if ppi else {"timestamp": epoch}
        out = typst.compile(str(main), root=str(folder), format=fmt, ignore_system_fonts=True, **kwargs)
    except Exception as exc:  # typst raises its own error type with the source location
        raise RenderError(f"typst could not convert the figures in {folder}: {exc}") from None
    finally:
        main.unlink(missing_ok=True)
    return out if isinstance(out, list) else [out]


def _chunk(kind: bytes, body: bytes) -> bytes:
    """One PNG chunk: length, type, data and its CRC."""
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_ppi(png: bytes, ppi: int) -> bytes:
    """``png`` with a ``pHYs`` chunk stating ``ppi`` pixels per inch (replacing any there)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n":
        raise RenderError("typst returned something that is not a PNG image")
    chunks, pos = [], 8
    while pos < len(png):
        length = struct.unpack(">I", png[pos:pos + 4])[0]
        kind = png[pos + 4:pos + 8]
        if kind != b"pHYs":
            chunks.append(png[pos:pos + 12 + length])
        pos += 12 + length
    per_metre = round(ppi / 0.0254)
    phys = _chunk(b"pHYs", struct.pack(">IIB", per_metre, per_metre, 1))
    return png[:8] + chunks[0] + phys + b"".join(chunks[1:])  # pHYs must come before the image data


class _PictureCache:
    """PNGs made from SVGs, kept between builds in the user's cache folder
    (``$XDG_CACHE_HOME/clinical-manuscripts/pictures``, else ``~/.cache/...``), so a figure
    that did not change is not rasterised again: typst spends about 0.2 s on each figure at
    300 pixels per inch. A picture's name is the SHA-256 of its SVG's bytes, the resolution
    and the typst wheel's version, which together decide every byte of it. The newest
    :attr:`KEEP` pictures are kept. A folder that cannot be used costs only the conversion.
    """

    KEEP = 200

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    @classmethod
    def open(cls) -> _PictureCache | None:
        """The cache, or None when there is no folder to keep it in."""
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        if not os.path.isabs(base):
            return None
        folder = Path(base) / "clinical-manuscripts" / "pictures"
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError:
            return None
        return cls(folder)

    @staticmethod
    def key(svg: bytes, ppi: int) -> str:
        """The name of the picture of ``svg`` at ``ppi``."""
        import typst

        digest = hashlib.sha256(svg)
        digest.update(f"|{ppi}|typst {typst.__version__}".encode())
        return digest.hexdigest()

    def get(self, key: str) -> bytes | None:
        """The picture named ``key``, if it is kept and whole."""
        path = self.folder / f"{key}.png"
        try:
            data = path.read_bytes()
            os.utime(path)  # recently used: kept longer
        except OSError:
            return None
        whole = data[:8] == b"\x89PNG\r\n\x1a\n" and data[-8:-4] == b"IEND"
        return data if whole else None

    def put(self, key: str, png: bytes) -> None:
        """Keep ``png`` as ``key`` (written whole or not at all), then drop the oldest beyond
        :attr:`KEEP`."""
        path = self.folder / f"{key}.png"
        part = path.with_name(f".{path.name}.{os.getpid()}")
        try:
            part.write_bytes(png)
            os.replace(part, path)
            kept = sorted(self.folder.glob("*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
            for old in kept[self.KEEP:]:
                old.unlink(missing_ok=True)
        except OSError:
            part.unlink(missing_ok=True)


def _pictures(svgs: list[Path], ppi: int) -> list[bytes]:
    """Every SVG as a PNG at ``ppi``: from the picture cache when the same SVG was converted
    before, else all in one typst document (one page per figure)."""
    if not svgs:
        return []
    cache = _PictureCache.open()
    keys = {svg: _PictureCache.key(svg.read_bytes(), ppi) for svg in svgs} if cache else {}
    found = {svg: cache.get(keys[svg]) for svg in svgs} if cache else {}
    todo = [svg for svg in svgs if found.get(svg) is None]
    if todo:
        folder = todo[0].parent
        source = _PAGE + "\n#pagebreak()\n".join(f'#image("{p.name}")' for p in todo) + "\n"
        pages = _typst(source, folder, "png", ppi=ppi)
        if len(pages) != len(todo):
            raise RenderError(f"typst made {len(pages)} pictures of {len(todo)} figures in {folder}")
        for svg, page in zip(todo, pages, strict=True):
            found[svg] = with_ppi(page, ppi)
            if cache is not None:
                cache.put(keys[svg], found[svg])
    return [found[svg] for svg in svgs]


def _pngs(svgs: list[Path], ppi: int, suffix: str) -> list[Path]:
    written = []
    for svg, picture in zip(svgs, _pictures(svgs, ppi), strict=True):
        out = svg.with_name(svg.stem + suffix)
        out.write_bytes(picture)
        written.append(out)
    return written


def docx_pngs(folder: Path) -> list[Path]:
    """``<id>.png`` at :data:`DOCX_PPI` beside each ``<id>.svg`` of ``folder``; the files written."""
    return DocxPictures(folder).make()


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height in pixels, from the PNG's header."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise RenderError("not a PNG image")
    width, height = struct.unpack(">II", png[16:24])
    return width, height


_SVG_SIZE = re.compile(rb'<svg\b[^>]*?\swidth="([0-9.]+)pt"[^>]*?\sheight="([0-9.]+)pt"')
_PLACEHOLDER = b"analysis-placeholder"


class DocxPictures:
    """The DOCX's PNG figures, made while pandoc writes the DOCX instead of before it.

    pandoc needs each picture's size in pixels and its resolution (to size it on the page),
    not its pixels: :meth:`stand_ins` writes ``<id>.png`` files of the right size and
    resolution, blank and tagged with their figure id, and returns at once; :meth:`make`
    converts the SVGs with typst while pandoc runs; :meth:`replace` then gives the real
    picture for a tagged stand-in that pandoc put in the DOCX. Where a stand-in's size is not
    the picture's (an SVG not sized in points, or typst rounding otherwise), :attr:`exact` is
    False and the DOCX must be written again from the real files.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.svgs = _svgs(folder)
        self.sizes: dict[str, tuple[int, int]] = {}
        self.pictures: dict[str, bytes] = {}

    def stand_ins(self) -> bool:
        """Write the stand-ins; False (and nothing written) when an SVG's size is unknown."""
        sizes = {}
        for svg in self.svgs:
            match = _SVG_SIZE.search(svg.read_bytes()[:4096])
            if not match:
                return False
            # typst renders a page of w x h points as ceil(w * ppi / 72) pixels
            sizes[svg.stem] = tuple(math.ceil(float(v) * DOCX_PPI / 72 - 1e-6) for v in match.groups())
        for svg in self.svgs:
            width, height = sizes[svg.stem]
            row = b"\x00" * (1 + (width + 7) // 8)  # filter byte + one bit per pixel
            png = (b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                   + _chunk(b"tEXt", _PLACEHOLDER + b"\x00" + svg.stem.encode("utf-8"))
                   + _chunk(b"IDAT", zlib.compress(row * height, 1)) + _chunk(b"IEND", b""))
            svg.with_suffix(".png").write_bytes(with_ppi(png, DOCX_PPI))
        self.sizes = sizes
        return True

    def make(self) -> list[Path]:
        """Convert the SVGs (typst) and write the real ``<id>.png`` files; the files written."""
        for svg, picture in zip(self.svgs, _pictures(self.svgs, DOCX_PPI), strict=True):
            self.pictures[svg.stem] = picture
            svg.with_suffix(".png").write_bytes(picture)
        return [svg.with_suffix(".png") for svg in self.svgs]

    @property
    def exact(self) -> bool:
        """Whether every stand-in has its picture's size (call after :meth:`make`)."""
        return bool(self.sizes) and all(png_size(self.pictures[k]) == size for k, size in self.sizes.items())

    def replace(self, data: bytes) -> bytes:
        """The real picture for a stand-in's bytes; any other bytes unchanged."""
        if not data.startswith(b"\x89PNG") or _PLACEHOLDER not in data[:200]:
            return data
        start = data.index(_PLACEHOLDER) + len(_PLACEHOLDER) + 1
        fig_id = data[start:data.index(b"IDAT", start) - 8].decode("utf-8")  # up to the tEXt chunk's CRC
        return self.pictures[fig_id]


def submission_files(folder: Path, epoch: int | None = None) -> list[Path]:
    """``<id>.pdf`` (vector, dated ``epoch``) and ``<id>.600dpi.png`` beside each ``<id>.svg``."""
    svgs = _svgs(folder)
    written = []
    for svg in svgs:
        pdf = svg.with_suffix(".pdf")
        pdf.write_bytes(_typst(_PAGE + f'#image("{svg.name}")\n', folder, "pdf", epoch=epoch)[0])
        written.append(pdf)
    return written + _pngs(svgs, SUBMISSION_PPI, f".{SUBMISSION_PPI}dpi.png")
