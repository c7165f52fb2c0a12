"""The built docs load nothing from another host (docs/check_offline.py).

The checker is tested here on small hand-written sites. The real site is built only where mkdocs
and mkdocs-material are installed (the docs dependency group, not the test environments); the
gate for the real site is `tox -e docs`, which builds it and runs the checker over it.
"""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("check_offline", ROOT / "docs" / "check_offline.py")
assert _spec is not None and _spec.loader is not None
check_offline = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_offline)


def site(tmp_path, body, css=""):
    (tmp_path / "index.html").write_text(f"<!doctype html><html><head></head><body>{body}</body></html>")
    if css:
        (tmp_path / "extra.css").write_text(css)
    return tmp_path


def offenders(tmp_path, body, css=""):
    problems, _, _ = check_offline.check(site(tmp_path, body, css))
    return problems


@pytest.mark.parametrize(
    "body",
    [
        '<link rel="stylesheet" href="https://fonts.googleapis.com/css?family=Roboto">',
        '<link rel="preconnect" href="https://fonts.gstatic.com">',
        '<link rel="icon" href="https://cdn.example.org/favicon.png">',
        '<link rel="modulepreload" href="//cdn.example.org/app.js">',
        '<script src="https://unpkg.com/mermaid@11/dist/mermaid.min.js"></script>',
        '<img src="http://example.org/a.png">',
        '<img src="local.png" srcset="local.png 1x, https://example.org/a@2x.png 2x">',
        '<iframe src="https://www.youtube.com/embed/x"></iframe>',
        '<svg><image href="https://example.org/a.svg"/></svg>',
        "<div style=\"background: url('https://example.org/bg.png')\"></div>",
        "<style>@import 'https://fonts.googleapis.com/css2?family=Inter';</style>",
    ],
)
def test_a_load_from_another_host_is_reported(tmp_path, body):
    problems = offenders(tmp_path, body)
    assert len(problems) == 1, problems
    assert problems[0].startswith("index.html: ")


def test_a_stylesheet_that_fetches_a_font_from_another_host_is_reported(tmp_path):
    css = "@font-face { font-family: X; src: url(https://fonts.gstatic.com/x.woff2) format('woff2'); }"
    assert offenders(tmp_path, "", css) == ["extra.css: css url() -> https://fonts.gstatic.com/x.woff2"]


def test_links_and_local_resources_are_not_loads(tmp_path):
    body = (
        '<a href="https://github.com/apranova/django-apranova-payments">repo</a>'
        '<link rel="canonical" href="https://docs.example.org/">'
        '<link rel="stylesheet" href="assets/main.css">'
        '<script src="javascripts/vendor/mermaid.min.js"></script>'
        '<img src="data:image/png;base64,iVBORw0KGgo=">'
        "<pre><code>curl https://api.stripe.com/v1/payment_intents</code></pre>"
    )
    css = ".x { background: url(../img/a.png); } .y { mask-image: url('data:image/svg+xml;x') }"
    assert offenders(tmp_path, body, css) == []


def test_a_mermaid_diagram_needs_a_local_mermaid_script(tmp_path):
    # The theme's own bundle is a local script too, but not Mermaid.
    diagram = '<pre class="mermaid"><code>stateDiagram-v2</code></pre><script src="assets/bundle.js"></script>'
    assert offenders(tmp_path, diagram) == [
        "index.html: a Mermaid diagram without a local mermaid script: the theme fetches Mermaid"
        " -> https://unpkg.com/mermaid"
    ]
    assert offenders(tmp_path, diagram + '<script src="../javascripts/vendor/mermaid.min.js"></script>') == []


def test_the_themes_repository_facts_are_reported(tmp_path):
    body = '<a href="https://github.com/o/r" class="md-source" data-md-component="source">r</a>'
    assert len(offenders(tmp_path, body)) == 1


def test_the_command_exits_non_zero_listing_the_offenders(tmp_path, capsys):
    site(tmp_path, '<script src="https://unpkg.com/x.js"></script>')
    assert check_offline.main([str(tmp_path)]) == 1
    assert "index.html: <script src> -> https://unpkg.com/x.js" in capsys.readouterr().err


def test_the_command_says_where_a_clean_site_is(tmp_path, capsys):
    site(tmp_path, "<p>ok</p>")
    assert check_offline.main([str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "load nothing from another host" in out
    assert f"python -m http.server --directory {tmp_path.resolve()}" in out


def test_the_command_refuses_a_directory_that_is_not_a_site(tmp_path):
    assert check_offline.main([str(tmp_path)]) == 2


def test_the_built_docs_load_nothing_from_another_host(tmp_path):
    pytest.importorskip("mkdocs", reason="mkdocs is in the docs dependency group: tox -e docs checks the real site")
    pytest.importorskip("material", reason="mkdocs-material is in the docs dependency group: tox -e docs")
    from mkdocs.commands.build import build
    from mkdocs.config import load_config

    # Not strict: tox -e docs is the strict build; this one is about what the pages load.
    config = load_config(str(ROOT / "mkdocs.yml"), site_dir=str(tmp_path / "site"), strict=False)
    build(config)
    problems, pages, _ = check_offline.check(tmp_path / "site")
    assert problems == []
    assert pages > 20
    machine = (tmp_path / "site" / "explanation" / "status-machine" / "index.html").read_text()
    assert 'class="mermaid"' in machine
    assert (tmp_path / "site" / "javascripts" / "vendor" / "mermaid.min.js").stat().st_size > 1_000_000
