// A form sent back with errors starts with their summary (templates/_error_summary.html): focus it
// when the page loads, so that a screen reader reads it and the keyboard starts from it (RGAA
// 11.10). A static file, not an inline script: the Content-Security-Policy allows scripts from
// this site only.
(function () {
  function focusSummary() {
    var summary = document.querySelector("[data-hdh-error-summary]");
    if (summary) { summary.focus(); }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", focusSummary);
  } else {
    focusSummary();
  }
}());
