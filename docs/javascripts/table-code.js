// A name in a table (a path, a URL name, a key: code without a space) stays on one line: the
// browser would otherwise break it after a hyphen ("create-" / "payment"). Code with spaces
// (a JSON body, a call with arguments) still wraps at its spaces (docs/stylesheets/extra.css).
document$.subscribe(function () {
  document.querySelectorAll(".md-typeset table:not([class]) code").forEach(function (code) {
    if (!/\s/.test(code.textContent)) {
      code.classList.add("apranova-name");
    }
  });
});
