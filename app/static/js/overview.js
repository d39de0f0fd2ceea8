/* Overview pages: draw every [data-chart] block with Apache ECharts (served from /static).
 * The numbers come from the element's data-chart attribute (JSON written by the server);
 * the same numbers are in the table below each chart and in its CSV / Excel export.
 * No inline script: this file is the only code the pages run besides ECharts itself. */
(function () {
  "use strict";

  var PALETTE = ["#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a", "#c62828", "#00838f", "#9e9d24", "#5d4037"];
  var FONT = '"Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", sans-serif';

  function localLink(url) {
    return typeof url === "string" && url.charAt(0) === "/" && url.charAt(1) !== "/" && url.indexOf("\\") < 0;
  }

  // Long category names (an import's time and file) are shortened on the axis; the table keeps them whole.
  function shorten(label) {
    label = String(label);
    return label.length > 12 ? label.slice(0, 11) + "…" : label;
  }

  function option(c) {
    var horizontal = c.kind === "hbar";
    var stacked = c.kind === "stack";
    var chars = c.categories.reduce(function (n, label) { return n + Math.min(String(label).length, 12); }, 0);
    var many = c.categories.length > 6 || chars > 32;  // would collide side by side: tilt them
    var labelled = !stacked && c.categories.length * c.series.length <= 12;
    var category = {
      type: "category", data: c.categories,
      axisLabel: {interval: c.categories.length > 14 ? "auto" : 0, rotate: !horizontal && many ? 35 : 0,
                  fontSize: 12, formatter: shorten}
    };
    var value = {type: "value", name: c.unit || "", minInterval: c.unit ? 0 : 1, axisLabel: {fontSize: 12}};
    return {
      animation: false,
      color: PALETTE,
      textStyle: {fontFamily: FONT},
      tooltip: {trigger: "axis", axisPointer: {type: "shadow"}},
      legend: {top: 0, type: "scroll", textStyle: {fontSize: 12}},
      grid: {left: many && !horizontal ? 36 : 8, right: 24, top: 40, bottom: 8, containLabel: true},
      xAxis: horizontal ? value : category,
      yAxis: horizontal ? category : value,
      series: c.series.map(function (s) {
        return {
          name: s.name, type: c.kind === "line" ? "line" : "bar", data: s.values,
          stack: stacked ? "total" : undefined, barMaxWidth: 36, smooth: false,
          label: {show: labelled, position: horizontal ? "right" : "top", fontSize: 12},
          cursor: s.links ? "pointer" : "default"
        };
      })
    };
  }

  function draw(el) {
    var data;
    try {
      data = JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      el.setAttribute("data-error", "json");
      return null;
    }
    var chart = echarts.init(el, null, {renderer: "canvas"});
    chart.on("finished", function () { el.setAttribute("data-rendered", "1"); });
    chart.on("click", function (p) {
      var s = data.series[p.seriesIndex];
      var url = s && s.links ? s.links[p.dataIndex] : null;
      if (localLink(url)) { window.location.href = url; }
    });
    chart.setOption(option(data));
    return chart;
  }

  function start() {
    if (typeof echarts === "undefined") { return; }
    var charts = [];
    var nodes = document.querySelectorAll(".ov-chart[data-chart]");
    for (var i = 0; i < nodes.length; i++) {
      var chart = draw(nodes[i]);
      if (chart) { charts.push(chart); }
    }
    var timer = null;
    window.addEventListener("resize", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { charts.forEach(function (c) { c.resize(); }); }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
