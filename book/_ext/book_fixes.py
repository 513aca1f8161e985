"""Small Sphinx fixes for the rendered book, found by tests/test_browser.py.

* Every page declared sphinx-thebe's inline configuration script twice, and the second
  ``const THEBE_JS_URL`` threw "Identifier has already been declared" in the browser:
  drop exact duplicate script entries from each page's context.
"""


def _dedupe_scripts(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for js in scripts:
        # the same inline script is registered once with filename None and once with ""
        key = (getattr(js, "filename", js) or "", repr(sorted(getattr(js, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(js)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe_scripts, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
