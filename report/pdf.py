"""The print handout: WeasyPrint renders the handout HTML against the files already written.

Rendering costs seconds, so the PDF is cached by a hash of everything it is made from:
a rebuild that changes nothing the handout shows copies the previous PDF.
"""
from __future__ import annotations

import hashlib
import shutil
import warnings
from importlib import metadata
from pathlib import Path

SUBSET_HINT = ("libharfbuzz-subset is missing: WeasyPrint falls back to fontTools and subsetting the "
               "CJK font takes ~30x longer; install it with `sudo apt-get install libharfbuzz-subset0` "
               "(macOS: `brew install harfbuzz`)")


def pdf_key(html: str, site_dir: Path) -> str:
    h = hashlib.sha256(html.encode())
    h.update(metadata.version("weasyprint").encode())
    for path in sorted(p for p in site_dir.rglob("*") if p.is_file() and p.suffix in (".svg", ".png")):
        h.update(str(path.relative_to(site_dir)).encode())
        h.update(hashlib.sha256(path.read_bytes()).digest())
    return h.hexdigest()[:24]


def write_pdf(html: str, site_dir: Path, target: Path, cache_dir: Path) -> bool:
    """Write the PDF; True if it was rendered, False if it came from the cache."""
    cached = cache_dir / f"{pdf_key(html, site_dir)}.pdf"
    if cached.is_file() and cached.stat().st_size > 0:
        shutil.copyfile(cached, target)
        return False
    render_pdf(html, site_dir, target)
    cache_dir.mkdir(parents=True, exist_ok=True)
    tmp = cached.with_suffix(".tmp")
    shutil.copyfile(target, tmp)
    tmp.replace(cached)
    return True


def render_pdf(html: str, site_dir: Path, target: Path) -> None:
    from weasyprint import HTML
    from weasyprint.text import ffi

    if ffi.harfbuzz_subset is None:
        warnings.warn(SUBSET_HINT)
    HTML(string=html, base_url=str(site_dir) + "/").write_pdf(target, pdf_variant=None, uncompressed_pdf=False)
