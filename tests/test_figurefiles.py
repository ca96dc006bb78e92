"""Tests for analysis.figurefiles: the PNG for the DOCX and the submission files, made from
the SVG the analysis saves, at the figure's journal size and with their resolution stated."""

from __future__ import annotations

import hashlib
import shutil
import struct
import zlib
from pathlib import Path

import pytest
from pypdf import PdfReader

from analysis.errors import RenderError
from analysis.figurefiles import docx_pngs, submission_files, with_ppi
from analysis.pipeline import analyse, render_study


def _png_size_and_ppi(data: bytes) -> tuple[tuple[int, int], float | None]:
    """Pixel size from IHDR and pixels per inch from pHYs, read from the PNG chunks (each CRC
    checked), and that pHYs comes before the image data as the PNG standard requires."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    size, ppi, pos, seen_idat = None, None, 8, False
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        assert zlib.crc32(kind + body) == struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])[0]
        if kind == b"IHDR":
            size = struct.unpack(">II", body[:8])
        elif kind == b"pHYs":
            assert not seen_idat
            x, y, unit = struct.unpack(">IIB", body)
            assert unit == 1 and x == y  # metres, square pixels
            ppi = x * 0.0254
        seen_idat = seen_idat or kind == b"IDAT"
        pos += 12 + length
    return size, ppi


@pytest.fixture
def svg_folder(mini_project, tmp_path) -> Path:
    """A folder holding the mini study's figure as the analysis saved it (SVG only)."""
    folder = tmp_path / "figures"
    shutil.copytree(analyse(mini_project, "mini") / "figures", folder)
    return folder


def test_docx_png_is_300_ppi_at_the_figure_size(svg_folder):
    written = docx_pngs(svg_folder)
    assert [p.name for p in written] == ["fig-cr.png"]
    # the fixture asks for a 4-inch figure: single column, 85 mm wide, 3 inches high
    (w, h), ppi = _png_size_and_ppi(written[0].read_bytes())
    assert ppi == pytest.approx(300, abs=0.1)
    assert w / ppi * 25.4 == pytest.approx(85, abs=0.2) and h / ppi == pytest.approx(3, abs=0.01)


def test_submission_files_are_a_vector_pdf_and_a_600_ppi_png(svg_folder):
    written = submission_files(svg_folder, epoch=1700000000)
    assert sorted(p.name for p in written) == ["fig-cr.600dpi.png", "fig-cr.pdf"]
    (w, h), ppi = _png_size_and_ppi((svg_folder / "fig-cr.600dpi.png").read_bytes())
    assert ppi == pytest.approx(600, abs=0.1)
    assert w / ppi * 25.4 == pytest.approx(85, abs=0.2) and h / ppi == pytest.approx(3, abs=0.01)
    page = PdfReader(svg_folder / "fig-cr.pdf").pages[0]
    assert float(page.mediabox.width) / 72 * 25.4 == pytest.approx(85, abs=0.2)
    assert float(page.mediabox.height) / 72 == pytest.approx(3, abs=0.01)
    # vector: the figure is drawn as paths; no picture of it is embedded
    assert not page.images
    assert b" l" in page.get_contents().get_data() or b" re" in page.get_contents().get_data()
    assert {p.name for p in svg_folder.iterdir()} == {"fig-cr.svg", "fig-cr.pdf", "fig-cr.600dpi.png"}


def test_figure_files_are_byte_identical_when_made_twice(svg_folder, tmp_path):
    def made(folder: Path) -> dict[str, str]:
        docx_pngs(folder)
        submission_files(folder, epoch=1700000000)
        return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}

    other = tmp_path / "again"
    shutil.copytree(svg_folder, other)
    first, second = made(svg_folder), made(other)
    assert first == second and len(first) == 4


def test_png_pixels_match_matplotlib_drawing_the_same_figure(svg_folder, mini_project):
    """typst's picture of the SVG and matplotlib's own PNG of the figure agree pixel for pixel
    to within anti-aliasing: the same size, and a mean difference under 2% of full scale."""
    import io

    import numpy as np
    from PIL import Image

    from analysis.figures.style import figure_context
    from analysis.pipeline import run_analysis
    from analysis.study import load_study

    store = run_analysis(load_study(mini_project, "mini"))
    buf = io.BytesIO()
    with figure_context():
        store.figures["fig-cr"].drawn().savefig(buf, format="png", dpi=300)
    ours = np.asarray(Image.open(docx_pngs(svg_folder)[0]).convert("L"), dtype=float)
    theirs = np.asarray(Image.open(buf).convert("L"), dtype=float)
    rows, cols = min(ours.shape[0], theirs.shape[0]), min(ours.shape[1], theirs.shape[1])
    assert abs(ours.shape[0] - theirs.shape[0]) <= 1 and abs(ours.shape[1] - theirs.shape[1]) <= 1
    assert np.abs(ours[:rows, :cols] - theirs[:rows, :cols]).mean() / 255 < 0.02
    assert ours.min() < 50  # something dark was drawn, not a blank page


def test_with_ppi_replaces_an_existing_resolution():
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (4, 3), "white").save(buf, format="PNG", dpi=(72, 72))
    assert _png_size_and_ppi(buf.getvalue())[1] == pytest.approx(72, abs=0.1)
    assert _png_size_and_ppi(with_ppi(buf.getvalue(), 600)) == ((4, 3), pytest.approx(600, abs=0.1))
    with pytest.raises(RenderError, match="not a PNG"):
        with_ppi(b"GIF89a", 300)


def test_a_folder_without_figures_makes_nothing(tmp_path):
    assert docx_pngs(tmp_path) == [] and submission_files(tmp_path) == []
    assert docx_pngs(tmp_path / "absent") == []


@pytest.mark.e2e
def test_figures_format_puts_the_submission_files_in_the_report(mini_project):
    analyse(mini_project, "mini")
    report = render_study(mini_project, "mini", formats=("html",))
    assert sorted(p.name for p in (report / "figures").iterdir()) == ["fig-cr.svg"]
    report = render_study(mini_project, "mini", formats=("docx", "figures"))
    assert sorted(p.name for p in (report / "figures").iterdir()) == [
        "fig-cr.600dpi.png", "fig-cr.pdf", "fig-cr.png", "fig-cr.svg"]
    # the DOCX holds the real picture, not the stand-in pandoc was given while it was made
    import zipfile

    with zipfile.ZipFile(report / "manuscript.docx") as docx:
        media = [docx.read(n) for n in docx.namelist() if n.startswith("word/media/")]
    assert media == [(report / "figures" / "fig-cr.png").read_bytes()]
    # an HTML-only render afterwards keeps the files the other formats made
    report = render_study(mini_project, "mini", formats=("html",))
    assert len(list((report / "figures").iterdir())) == 4


def _mini_figures(mini_project):
    from analysis.pipeline import run_analysis
    from analysis.study import load_study

    return run_analysis(load_study(mini_project, "mini")).figures


@pytest.mark.parametrize("background", [False, True])
def test_svgs_saved_by_a_child_process_equal_those_saved_here(mini_project, tmp_path, monkeypatch, background):
    import analysis.figurefiles as ff

    here, there = tmp_path / "here", tmp_path / "there"
    monkeypatch.setattr(ff, "can_fork", lambda: False)
    ff.save_svgs(_mini_figures(mini_project), here, background=background)()
    monkeypatch.setattr(ff, "can_fork", lambda: True)
    figures = _mini_figures(mini_project)
    finish = ff.save_svgs(figures, there, background=background)
    assert figures["fig-cr"].files == {"svg": "figures/fig-cr.svg", "png": "figures/fig-cr.png"}
    finish()
    assert (there / "fig-cr.svg").read_bytes() == (here / "fig-cr.svg").read_bytes()


def test_a_failing_child_is_redone_here_so_the_real_error_is_raised(tmp_path, monkeypatch):
    import analysis.figurefiles as ff
    from analysis.results import Figure

    class Broken:
        def savefig(self, *_args, **_kwargs):
            raise ValueError("the figure cannot be drawn: boom")

    monkeypatch.setattr(ff, "can_fork", lambda: True)
    finish = ff.save_svgs({"fig-x": Figure("fig-x", "A broken figure", figure=Broken())}, tmp_path, background=True)
    with pytest.raises(ValueError, match="boom"):
        finish()


def test_forking_only_where_it_is_safe(monkeypatch):
    import threading

    import analysis.figurefiles as ff

    monkeypatch.setattr(ff.sys, "platform", "darwin")
    assert not ff.can_fork()
    monkeypatch.setattr(ff.sys, "platform", "linux")
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        assert not ff.can_fork()  # another thread: its locks would stay held in the child
    finally:
        stop.set()
        thread.join()


def test_docx_stand_ins_have_the_pictures_size_and_are_replaced_by_them(svg_folder):
    from analysis.figurefiles import DocxPictures, png_size

    pictures = DocxPictures(svg_folder)
    assert pictures.stand_ins()
    stand_in = (svg_folder / "fig-cr.png").read_bytes()
    assert _png_size_and_ppi(stand_in)[1] == pytest.approx(300, abs=0.1)
    made = pictures.make()
    assert [p.name for p in made] == ["fig-cr.png"] and pictures.exact
    real = made[0].read_bytes()
    assert png_size(stand_in) == png_size(real) and stand_in != real
    assert pictures.replace(stand_in) == real
    assert pictures.replace(real) == real and pictures.replace(b"<svg/>") == b"<svg/>"


def test_a_docx_whose_stand_ins_were_the_wrong_size_is_written_again(mini_project, monkeypatch):
    """If a stand-in's size is not the picture's, pandoc would size the picture wrongly: the
    DOCX is written again from the real pictures, which are the ones it embeds."""
    import zipfile

    from analysis.figurefiles import _PLACEHOLDER, DocxPictures, png_size

    real_stand_ins = DocxPictures.stand_ins

    def wrong_size(self):
        assert real_stand_ins(self)
        for svg in self.svgs:  # a stand-in of another size, as a rounding slip would give
            png = svg.with_suffix(".png").read_bytes()
            self.sizes[svg.stem] = (self.sizes[svg.stem][0] - 1, self.sizes[svg.stem][1])
            png = png[:16] + struct.pack(">I", self.sizes[svg.stem][0]) + png[20:]
            svg.with_suffix(".png").write_bytes(png)
        return True

    import analysis.render as render

    started: list[str] = []
    real_job = render._Job.__init__

    def job(self, cmd, cwd, env, what):
        started.append(what)
        real_job(self, cmd, cwd, env, what)

    monkeypatch.setattr(DocxPictures, "stand_ins", wrong_size)
    monkeypatch.setattr(render._Job, "__init__", job)
    analyse(mini_project, "mini")
    report = render_study(mini_project, "mini", formats=("docx",))
    with zipfile.ZipFile(report / "manuscript.docx") as docx:
        media = [docx.read(n) for n in docx.namelist() if n.startswith("word/media/")]
    real = (report / "figures" / "fig-cr.png").read_bytes()
    assert media == [real] and _PLACEHOLDER not in real and png_size(real)[0] == 1004
    assert started == ["pandoc (DOCX)", "pandoc (DOCX)"]  # started on the stand-ins, then again


def test_a_picture_made_before_is_reused_and_a_changed_figure_is_converted(svg_folder, tmp_path, monkeypatch):
    """The picture cache: the same SVG at the same resolution gives the same bytes without
    typst; a changed SVG, a damaged cache file or no usable cache folder all convert again."""
    import analysis.figurefiles as ff

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    first = docx_pngs(svg_folder)[0].read_bytes()
    kept = list((tmp_path / "cache" / "clinical-manuscripts" / "pictures").glob("*.png"))
    assert len(kept) == 1 and kept[0].read_bytes() == first
    converted = []
    real = ff._typst
    monkeypatch.setattr(ff, "_typst", lambda *a, **k: converted.append(a[1]) or real(*a, **k))
    assert docx_pngs(svg_folder)[0].read_bytes() == first and converted == []
    kept[0].write_bytes(first[: len(first) // 2])  # a damaged file is not used
    assert docx_pngs(svg_folder)[0].read_bytes() == first and len(converted) == 1
    assert kept[0].read_bytes() == first  # and is replaced
    svg = svg_folder / "fig-cr.svg"
    svg.write_bytes(svg.read_bytes().replace(b"</svg>", b"<!-- changed --></svg>"))
    assert docx_pngs(svg_folder)[0].read_bytes() == first and len(converted) == 2  # same look, new key
    assert len(list(kept[0].parent.glob("*.png"))) == 2
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/folder")  # not a usable cache folder
    assert docx_pngs(svg_folder)[0].read_bytes() == first and len(converted) == 3


def test_the_picture_cache_keeps_the_newest(tmp_path, monkeypatch):
    import os

    from analysis.figurefiles import _PictureCache

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(_PictureCache, "KEEP", 3)
    cache = _PictureCache.open()
    png = b"\x89PNG\r\n\x1a\n" + b"x" * 8 + b"\x00\x00\x00\x00IEND\xaeB`\x82"
    for i in range(5):
        cache.put(f"k{i}", png)
        os.utime(cache.folder / f"k{i}.png", (1000 + i, 1000 + i))
    cache.put("k5", png)
    assert sorted(p.stem for p in cache.folder.glob("*.png")) == ["k3", "k4", "k5"]
    assert cache.get("k4") == png and cache.get("k0") is None
