"""The web app's look: a Gradio theme, the CSS of `qa.web.render`'s and `qa.web.context`'s HTML,
the header, a JS hook.

Colours come from Gradio's CSS variables, so light and dark mode both work;
`.dark` rules adjust the few colours of our own (marks, notices, ranks), each
chosen for WCAG AA contrast.  Fonts are the system's: the page fetches nothing
from the internet.
"""

from __future__ import annotations

from typing import Any

# One complete face from the system, so no heading mixes a bundled partial face with a fallback.
FONTS = (
    "system-ui",
    "-apple-system",
    "Segoe UI",
    "Roboto",
    "Noto Sans",
    "Liberation Sans",
    "DejaVu Sans",
    "Arial",
    "sans-serif",
)
MONO = ("ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "DejaVu Sans Mono", "monospace")


def theme() -> Any:
    """Gradio's default theme, a calmer accent, system fonts and AA-contrast secondary text."""
    import gradio as gr

    return gr.themes.Default(
        primary_hue="indigo", neutral_hue="slate", font=FONTS, font_mono=MONO
    ).set(
        body_text_color_subdued="*neutral_600",
        body_text_color_subdued_dark="*neutral_300",
        block_info_text_color="*neutral_600",
        block_info_text_color_dark="*neutral_300",
        button_primary_background_fill="*primary_600",
        button_primary_background_fill_hover="*primary_700",
    )


# Gradio scopes this CSS to the page and rewrites `.dark` rules: a selector list such as
# `.dark .a, .dark .b` only keeps its first part, so each dark rule has one selector.
CSS = """
.gradio-container { max-width: 920px !important; margin: 0 auto !important; }
.gradio-container .main.fillable { padding-left: min(32px, 3vw) !important;
  padding-right: min(32px, 3vw) !important; }
.qa-head h1 { font-size: 1.7rem; font-weight: 700; margin: .2rem 0 .25rem; }
.qa-head p { margin: 0; color: var(--body-text-color-subdued); }

/* The question and the documents boxes are as tall as the taller (several documents chosen),
   their labels level; the button sits at the bottom, level with their fields (the blocks'
   padding and border below it) and as tall as the question's field. */
#qa-ask { align-items: stretch !important; }
#qa-question { height: 100%; }
#qa-go { align-self: flex-end !important; flex-grow: 0 !important; min-height: 42px;
  margin-bottom: calc(var(--spacing-xl) + var(--block-border-width)) !important; }
/* Gradio's footer puts a "·" after each link: with one link shown (none on a phone) it dangles. */
footer .divider { display: none !important; }
/* The document choice keeps its chosen names and its caret on one line while they fit (Gradio's
   filter box asks for a text field's whole width); "All documents" is the way to clear it. */
#qa-documents .wrap-inner { padding-top: 3px; padding-bottom: 3px; } /* the question's height */
#qa-documents .secondary-wrap { min-width: 2.5rem; }
#qa-documents .secondary-wrap input { width: 0; min-width: 0; flex: 1 1 0; }
#qa-documents .remove-all { display: none; }
/* "All documents" is the first choice, and Gradio titles each chosen one's × by its index:
   removing it would only bring it back, so it has none. */
#qa-documents .token-remove[title$=" 0"] { display: none; }
#qa-examples { flex-wrap: wrap !important; gap: 6px !important; }
#qa-examples > .qa-chip { flex: 0 1 auto !important; min-width: 0 !important;
  width: auto !important; border-radius: 999px !important; font-weight: 400 !important;
  font-size: .95rem !important; white-space: normal; }

#qa-results .html-container { padding-left: 0 !important; padding-right: 0 !important; }
.qa-results { display: flex; flex-direction: column; gap: 12px; }
.qa-summary { margin: .2rem 0 0; color: var(--body-text-color-subdued); font-size: .95rem;
  overflow-wrap: anywhere; }
.qa-summary q { color: var(--body-text-color); }
.qa-share { color: var(--link-text-color); }
.qa-hint, .qa-empty { color: var(--body-text-color-subdued); margin: .25rem 0; }
.qa-error, .qa-stale { border-radius: var(--radius-lg); padding: .6rem .8rem;
  margin: 0; border: 1px solid #d4a72c; background: #fff8e1; color: #5c4400; }
.dark .qa-error { background: #3a2f0b; color: #fde68a; border-color: #8a6d1a; }
.dark .qa-stale { background: #3a2f0b; color: #fde68a; border-color: #8a6d1a; }
.qa-fresh { margin: .4rem 0 0; color: #166534; }
.dark .qa-fresh { color: #86efac; }

.qa-answer { border: 1px solid var(--border-color-primary); border-left: 4px solid #4f46e5;
  border-radius: var(--radius-lg); background: var(--block-background-fill);
  padding: .75rem 1rem; overflow-wrap: anywhere; }
.dark .qa-answer { border-left-color: #a5b4fc; }
.qa-answer.qa-answer-none { background: #fff8e1; color: #5c4400; border-color: #d4a72c; }
.dark .qa-answer.qa-answer-none { background: #3a2f0b; color: #fde68a; border-color: #8a6d1a; }
.qa-answer-none p { margin: 0; }
.qa-answer-maybe { border-left-color: #b45309; }
.dark .qa-answer-maybe { border-left-color: #fbbf24; }
.qa-verdict { margin: 0; font-weight: 700; font-size: .95rem; }
.qa-sure { font-weight: 400; color: var(--body-text-color-subdued); }
.qa-answer-text { margin: .3rem 0 .2rem; font-size: 1.15rem; line-height: 1.5; }

.qa-card { border: 1px solid var(--border-color-primary); border-radius: var(--radius-lg);
  background: var(--block-background-fill); padding: .7rem 1rem; box-shadow: var(--block-shadow);
  overflow-wrap: anywhere; }
.qa-card-top { display: flex; align-items: center; justify-content: space-between; gap: 8px; }
.qa-rank { display: inline-flex; align-items: center; justify-content: center; width: 1.6rem;
  height: 1.6rem; border-radius: 50%; font-weight: 700; font-size: .9rem;
  background: #e0e7ff; color: #312e81; }
.dark .qa-rank { background: #312e81; color: #e0e7ff; }
.qa-score { display: inline-flex; align-items: center; gap: 6px; font-size: .85rem;
  color: var(--body-text-color-subdued); font-variant-numeric: tabular-nums; }
.qa-bar { display: inline-block; width: 88px; height: 6px; border-radius: 3px; overflow: hidden;
  background: var(--border-color-primary); }
.qa-bar > span { display: block; height: 100%; background: var(--color-accent); }
.qa-weak .qa-bar > span { background: var(--body-text-color-subdued); }
.qa-weak .qa-text { color: var(--body-text-color-subdued); }
.qa-cite { font-style: normal; font-size: .92rem; color: var(--body-text-color-subdued); }
.qa-cite b { color: var(--body-text-color); font-weight: 700; }
.qa-where { white-space: nowrap; }
.qa-cite-row { margin: .45rem 0 .2rem; }
.qa-text { margin: .35rem 0 0; line-height: 1.55; white-space: pre-line; }
.qa-results mark, .qa-section mark { background: #fde68a; color: inherit; padding: 0 1px;
  border-radius: 2px; }
.dark .qa-results mark { background: #713f12; color: #fef3c7; }
.dark .qa-section mark { background: #713f12; color: #fef3c7; }
.qa-results .qa-weak mark { background: #e2e8f0; color: inherit; }
.dark .qa-weak mark { background: #334155; color: inherit; }

.qa-context { margin: .45rem 0 .2rem; }
.qa-context > summary { cursor: pointer; list-style: none; display: flex; gap: 10px;
  align-items: baseline; justify-content: space-between; }
.qa-context > summary > .qa-cite { min-width: 0; }
.qa-context > summary::-webkit-details-marker { display: none; }
.qa-context > summary:hover .qa-cite b { text-decoration: underline; }
.qa-open { flex: none; font-size: .85rem; color: var(--link-text-color); white-space: nowrap; }
.qa-open::before { content: "▸ "; }
.qa-context[open] .qa-open::before { content: "▾ "; }
.qa-context[open] > summary .qa-show { display: none; }
.qa-context:not([open]) > summary .qa-hide { display: none; }
.qa-context[open] + .qa-text { display: none; }
.qa-section { margin-top: .5rem; border: 1px solid var(--border-color-primary);
  border-radius: var(--radius-md); background: var(--background-fill-secondary); }
.qa-section-head { margin: 0; padding: .4rem .7rem; font-size: .85rem;
  border-bottom: 1px solid var(--border-color-primary); color: var(--body-text-color-subdued); }
.qa-section-head b { color: var(--body-text-color); }
.qa-lines { max-height: 60vh; overflow: auto; padding: .3rem 0; font-size: .92rem;
  line-height: 1.5; }
.qa-line { display: flex; gap: .6rem; padding: 0 .7rem 0 0; border-left: 3px solid transparent; }
.qa-line.qa-hit { background: var(--color-accent-soft); border-left-color: var(--color-accent); }
.qa-ln { flex: 0 0 2.6rem; text-align: right; color: var(--body-text-color-subdued);
  user-select: none; font-variant-numeric: tabular-nums; font-size: .8rem; padding-top: .1rem; }
.qa-src { flex: 1; min-width: 0; white-space: pre-wrap; }
.qa-line.qa-blank { height: .55rem; }
.qa-line.qa-blank > * { display: none; }
/* Where a PDF page begins: a quiet rule with the page number, in the line numbers' colour. */
.qa-page-break { display: flex; align-items: center; gap: .5rem; margin: .3rem .7rem .3rem 0;
  padding-left: 3px; font-size: .78rem;
  color: var(--body-text-color-subdued); user-select: none; }
.qa-page-break::before, .qa-page-break::after { content: ""; flex: 1;
  border-top: 1px dashed var(--border-color-primary); }
.qa-page-break::before { flex: 0 0 2.6rem; }
/* A PDF, HTML or Word section as read: no line numbers, headings in bold. */
.qa-rendered .qa-line { padding-left: .7rem; }
.qa-rendered .qa-para { margin: .1rem 0 .45rem; }
.qa-rendered .qa-page-break::before { flex-basis: .4rem; }
.qa-line.qa-heading { font-weight: 700; padding-top: .15rem; }

.qa-index dl { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0; }
.qa-index dt { color: var(--body-text-color-subdued); }
.qa-index dd { margin: 0; overflow-wrap: anywhere; }
.qa-index .qa-stale { margin-top: .5rem; }
.qa-index .qa-watch { margin: .4rem 0 0; color: var(--body-text-color-subdued); font-size: .9em; }
#qa-rebuild { max-width: 14rem; }
#qa-index-panel .label-wrap { text-align: left; align-items: center; gap: .5rem; }
/* Gradio's caret is stretched to the label's height and then turned: on two lines it stood out
   of the box; the status breaks into even lines, not "up" and "to date". */
#qa-index-panel .label-wrap > span { text-wrap: balance; }
#qa-index-panel .label-wrap > .icon { flex: none; align-self: center; }
.qa-progress { display: flex; align-items: center; gap: 10px; font-size: .9rem; }
.qa-progress .qa-bar { width: 160px; }
.qa-busy > span { width: 35%; animation: qa-slide 1.1s ease-in-out infinite alternate; }
@keyframes qa-slide { from { margin-left: 0; } to { margin-left: 65%; } }

@media (max-width: 640px) {
  .qa-head h1 { font-size: 1.35rem; }
  .qa-head p { display: none; }
  .qa-wide { display: none; }
  .qa-cite { font-size: .86rem; }
  /* The toggle joins the row above the citation, so the citation has the card's width. */
  .qa-card, .qa-answer { position: relative; }
  .qa-card .qa-open { position: absolute; top: .85rem; right: .7rem; }
  .qa-answer .qa-open { position: absolute; top: .65rem; right: .75rem; }
  .qa-card .qa-score { margin-right: 3.6rem; }
  #qa-examples > .qa-chip { font-size: .88rem !important; padding: 4px 10px !important; }
  #qa-examples > .qa-chip:nth-child(n+4) { display: none !important; }
  .qa-card { padding: .6rem .7rem; }
  .qa-answer { padding: .6rem .75rem; }
  .qa-bar { width: 56px; }
  .qa-ln, .qa-page-break::before { flex-basis: 2rem; }
}
"""

HEADER = (
    '<div class="qa-head"><h1>Ask the documents</h1>'
    "<p>Semantic search over the corpus: each answer cites its document, section and lines. "
    "Open a citation to read the passage in its section.</p></div>"
)

# After a search, put the question (and the documents asked) in the address bar, so the page
# link can be shared; `qa.web.render.share_link` writes the same.
URL_JS = """(q, k, docs) => {
  try {
    const url = new URL(window.location.href);
    if (q && q.trim()) {
      url.searchParams.set("q", q.trim());
      url.searchParams.set("k", k);
      url.searchParams.delete("doc");
      for (const name of docs || []) { if (name) url.searchParams.append("doc", name); }
    }
    history.replaceState(history.state, "", url);
  } catch (e) {}
  return [];
}"""
