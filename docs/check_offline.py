"""Check that a built documentation site loads nothing from another host.

    python docs/check_offline.py SITE_DIR

Reads every HTML and CSS file under SITE_DIR (what `mkdocs build` wrote) and lists each resource
the browser would fetch from another host: scripts, stylesheets, fonts, icons, images, frames,
media, CSS `url(...)` and `@import`. Links that the reader follows (`<a href>`) are not loads and
are allowed. It also knows the two requests that mkdocs-material makes from its own script:
Mermaid from a CDN when a page has a diagram and no local Mermaid, and the GitHub API for the
repository's stars when the repository link is the theme's "source" component.

Exits 0 and says where the site is when nothing is loaded from elsewhere; exits 1 listing each
offender as `page: what -> URL` otherwise; exits 2 when SITE_DIR is not a built site.
Standard library only, so it runs in the docs environment (tox -e docs) next to mkdocs.
"""

from __future__ import annotations

import re
import sys
from html.parser import HTMLParser
from pathlib import Path

# Attributes whose URL the browser fetches by itself, per tag.
LOAD_ATTRIBUTES = {
    "script": ("src",),
    "img": ("src", "srcset"),
    "source": ("src", "srcset"),
    "iframe": ("src",),
    "frame": ("src",),
    "embed": ("src",),
    "object": ("data",),
    "video": ("src", "poster"),
    "audio": ("src",),
    "track": ("src",),
    "input": ("src",),
    "image": ("href", "xlink:href"),  # inside inline SVG
    "use": ("href", "xlink:href"),
    "feimage": ("href", "xlink:href"),
}
# <link rel=...> values that make the browser fetch (or connect to) the href.
LOAD_RELS = {
    "stylesheet",
    "icon",
    "apple-touch-icon",
    "mask-icon",
    "manifest",
    "preload",
    "modulepreload",
    "prefetch",
    "preconnect",
    "dns-prefetch",
    "prerender",
}
CSS_URL = re.compile(r"""url\(\s*(['"]?)(.*?)\1\s*\)""", re.IGNORECASE)
CSS_IMPORT = re.compile(r"""@import\s+(['"])(.*?)\1""", re.IGNORECASE)


def is_remote(url: str) -> bool:
    """A URL the browser would fetch from a host: http(s), protocol-relative, any other scheme
    than data: or blob:. A path relative to the site is local."""
    url = url.strip()
    if url.startswith("//"):
        return True
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    return bool(scheme) and scheme.group(1).lower() not in {"data", "blob"}


def css_offenders(css: str) -> list[tuple[str, str]]:
    found = [("css url()", m.group(2)) for m in CSS_URL.finditer(css)]
    found += [("css @import", m.group(2)) for m in CSS_IMPORT.finditer(css)]
    return [(what, url) for what, url in found if is_remote(url)]


class PageScanner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.offenders: list[tuple[str, str]] = []
        self.local_scripts: list[str] = []
        self.has_mermaid = False
        self.source_component: str | None = None
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): value or "" for name, value in attrs}
        for name in LOAD_ATTRIBUTES.get(tag, ()):
            for url in self._urls(name, values.get(name, "")):
                if is_remote(url):
                    self.offenders.append((f"<{tag} {name}>", url))
        if tag == "link":
            rels = set(values.get("rel", "").lower().split())
            if rels & LOAD_RELS and is_remote(values.get("href", "")):
                self.offenders.append((f"<link rel={values['rel']}>", values["href"]))
        if tag == "script" and values.get("src") and not is_remote(values["src"]):
            self.local_scripts.append(values["src"])
        if "style" in values:
            self.offenders += [(f"<{tag} style> {what}", url) for what, url in css_offenders(values["style"])]
        if "mermaid" in values.get("class", "").split():
            self.has_mermaid = True
        if values.get("data-md-component") == "source":
            self.source_component = values.get("href", "")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        if tag == "style":
            self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style:
            self.offenders += [(f"<style> {what}", url) for what, url in css_offenders(data)]

    @staticmethod
    def _urls(name: str, value: str) -> list[str]:
        if not value:
            return []
        if name == "srcset":
            return [candidate.split()[0] for candidate in value.split(",") if candidate.strip()]
        return [value]

    def theme_offenders(self) -> list[tuple[str, str]]:
        """The requests that mkdocs-material's own script would make for this page."""
        found = []
        if self.has_mermaid and not any(
            Path(src.split("?")[0]).name.startswith("mermaid") for src in self.local_scripts
        ):
            found.append(
                (
                    "a Mermaid diagram without a local mermaid script: the theme fetches Mermaid",
                    "https://unpkg.com/mermaid",
                )
            )
        if self.source_component is not None:
            found.append(
                ("the theme's repository facts (data-md-component=source) ask the host's API", self.source_component)
            )
        return found


def check(site: Path) -> tuple[list[str], int, int]:
    """Offender lines, and how many HTML and CSS files were read."""
    problems = []
    pages = sorted(site.rglob("*.html"))
    for page in pages:
        scanner = PageScanner()
        scanner.feed(page.read_text(encoding="utf-8", errors="replace"))
        scanner.close()
        for what, url in scanner.offenders + scanner.theme_offenders():
            problems.append(f"{page.relative_to(site)}: {what} -> {url}")
    stylesheets = sorted(site.rglob("*.css"))
    for stylesheet in stylesheets:
        for what, url in css_offenders(stylesheet.read_text(encoding="utf-8", errors="replace")):
            problems.append(f"{stylesheet.relative_to(site)}: {what} -> {url}")
    return problems, len(pages), len(stylesheets)


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0].startswith("-"):
        print(__doc__.strip().splitlines()[0], file=sys.stderr)
        print("usage: python docs/check_offline.py SITE_DIR", file=sys.stderr)
        return 2
    site = Path(argv[0]).resolve()
    if not (site / "index.html").is_file():
        print(f"check_offline: {site} has no index.html: build the site first (mkdocs build)", file=sys.stderr)
        return 2
    problems, pages, stylesheets = check(site)
    if problems:
        print(f"check_offline: {len(problems)} load(s) from another host in {site}:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print(f"check_offline: {pages} pages and {stylesheets} stylesheets load nothing from another host.")
    print(f"The site is in {site}: open {site / 'index.html'} in a browser,")
    print(f"or serve it with `python -m http.server --directory {site} 8001` (http://127.0.0.1:8001/).")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
