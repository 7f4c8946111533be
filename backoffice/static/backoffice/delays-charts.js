// The delay dashboard's charts (backoffice/templates/backoffice/delays.html), drawn with Chart.js from
// the figures the page holds in its "dashboard-data" JSON element. A static file, not an inline
// script: the Content-Security-Policy allows scripts from this site only.
(function () {
  if (typeof Chart === "undefined") { return; }
  var data = JSON.parse(document.getElementById("dashboard-data").textContent);
  var t = data.text;
  var blue = "#000091", lightBlue = "#6a6af4", red = "#ce0500", orange = "#b34000", green = "#18753c", grey = "#929292";
  var reduce = window.matchMedia && window.matchMedia("(prefers-reduced-motion: reduce)").matches;
  Chart.defaults.font.family = "Marianne, arial, sans-serif";
  Chart.defaults.color = "#3a3a3a";
  if (reduce) { Chart.defaults.animation = false; }
  var common = {responsive: true, maintainAspectRatio: false, plugins: {legend: {position: "bottom"}}};

  new Chart(document.getElementById("chart-stages"), {
    type: "bar",
    data: {labels: data.stages.labels, datasets: [
      {label: t.median, data: data.stages.median, backgroundColor: data.stages.codes.map(function (c) { return c === data.stages.bottleneck ? orange : blue; })},
      {label: t.p90, data: data.stages.p90, backgroundColor: data.stages.codes.map(function (c) { return c === data.stages.bottleneck ? "#ff9575" : lightBlue; })}
    ]},
    options: Object.assign({}, common, {indexAxis: "y", scales: {x: {title: {display: true, text: t.days}}}})
  });

  new Chart(document.getElementById("chart-shares"), {
    type: "bar",
    // minBarLength: a quarter at 0 % keeps a visible bar; a quarter without delivery (null) has none.
    data: {labels: data.shares.labels, datasets: [{label: t.share, data: data.shares.share, backgroundColor: blue, minBarLength: 3}]},
    options: Object.assign({}, common, {scales: {y: {min: 0, max: 100, title: {display: true, text: "%"}}}})
  });

  new Chart(document.getElementById("chart-access"), {
    type: "line",
    data: {labels: data.access.labels, datasets: [
      {label: t.mean, data: data.access.mean, borderColor: blue, backgroundColor: blue, tension: 0.2},
      {label: t.institution, data: data.access.institution, borderColor: lightBlue, backgroundColor: lightBlue, borderDash: [4, 3], tension: 0.2},
      {label: t.target, data: data.access.labels.map(function () { return data.access.target; }), borderColor: red, backgroundColor: red, pointRadius: 0, borderWidth: 2}
    ]},
    options: Object.assign({}, common, {scales: {y: {min: 0, title: {display: true, text: t.months}}}})
  });

  var colours = {late: red, at_risk: orange, on_track: green, other: grey};
  new Chart(document.getElementById("chart-current"), {
    type: "bar",
    data: {labels: data.current.labels, datasets: data.current.series.map(function (s) {
      return {label: s.label, data: s.data, backgroundColor: colours[s.key]};
    })},
    options: Object.assign({}, common, {scales: {x: {stacked: true}, y: {stacked: true, beginAtZero: true, ticks: {precision: 0}, title: {display: true, text: t.requests}}}})
  });
})();
