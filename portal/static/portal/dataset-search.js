// The new-request form's catalogue filter (portal/templates/portal/form.html): typing narrows the
// list of datasets (checked ones stay shown) and says how many are shown. Without JavaScript the
// whole list shows. A static file, not an inline script: the Content-Security-Policy allows
// scripts from this site only.
(function () {
  var wrapper = document.getElementById("dataset-search-wrapper");
  var input = document.getElementById("dataset-search");
  var status = document.getElementById("dataset-search-status");
  var items = document.querySelectorAll(".hdh-dataset");
  if (!wrapper || !input) { return; }
  wrapper.hidden = false;
  var template = status.dataset.template;
  function normalise(text) { return text.toLowerCase().normalize("NFD").replace(/[\u0300-\u036f]/g, ""); }
  input.addEventListener("input", function () {
    var query = normalise(input.value.trim());
    var shown = 0;
    items.forEach(function (item) {
      var checked = item.querySelector("input").checked;
      var match = !query || normalise(item.dataset.search).indexOf(query) !== -1 || checked;
      item.hidden = !match;
      if (match) { shown += 1; }
    });
    status.textContent = query ? template.replace("%(n)s", shown) : "";
  });
})();
