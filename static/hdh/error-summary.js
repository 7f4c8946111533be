// A form sent back with errors starts with their summary (templates/_error_summary.html): focus it
// when the page loads, so that a screen reader reads it and the keyboard starts from it (RGAA
// 11.10). When the address ends with a fragment (the form was sent from "page#content", after the
// skip link), the browser's move to that fragment takes the focus back at load: focus again then.
// A static file, not an inline script: the Content-Security-Policy allows scripts from this site only.
(function () {
  var summary = document.querySelector("[data-hdh-error-summary]");
  if (!summary) { return; }
  function focusSummary() {
    if (document.activeElement !== summary) { summary.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
  if (window.location.hash) {
    window.addEventListener("load", function () { window.setTimeout(focusSummary, 0); });
  }
}());
