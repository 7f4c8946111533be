// The indicators page's charts (directory/templates/directory/indicators.html), drawn with Chart.js
// from the "indicators-data" JSON element: a list of charts, each with its labels, series, unit and
// target line. A static file, not an inline script: the Content-Security-Policy allows scripts from
// this site only. Every chart has its data table and a sentence on the page.
(function () {
  if (typeof Chart === "undefined") { return; }
  var charts = JSON.parse(document.getElementById("indicators-data").textContent);
  var colours = ["#000091", "#6a6af4", "#b34000"], red = "#ce0500";
  var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.font.family = "Marianne, arial, sans-serif";
  Chart.defaults.color = "#3a3a3a";
  if (reduce) { Chart.defaults.animation = false; }
  charts.forEach(function (spec) {
    var canvas = document.getElementById(spec.id);
    if (!canvas) { return; }
    var datasets = spec.datasets.map(function (s, i) {
      return {type: s.kind === "line" ? "line" : "bar", label: s.label, data: s.data, borderColor: colours[i % 3],
              backgroundColor: colours[i % 3], tension: 0.2, minBarLength: 2};
    });
    if (spec.target !== undefined && spec.target !== null) {
      datasets.push({type: "line", label: spec.target_label, data: spec.labels.map(function () { return spec.target; }),
                     borderColor: red, backgroundColor: red, pointRadius: 0, borderWidth: 2, borderDash: [6, 4]});
    }
    var valueAxis = {beginAtZero: true, title: {display: true, text: spec.unit}};
    if (spec.max) { valueAxis.max = spec.max; }
    new Chart(canvas, {
      type: "bar",
      data: {labels: spec.labels, datasets: datasets},
      options: {responsive: true, maintainAspectRatio: false, indexAxis: spec.horizontal ? "y" : "x",
                plugins: {legend: {position: "bottom"}},
                scales: spec.horizontal ? {x: valueAxis} : {y: valueAxis}}
    });
  });
})();
