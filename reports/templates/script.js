// Legend buttons show/hide a series within their chart. The report reads fine without this.
(function () {
  "use strict";
  var figures = document.querySelectorAll("figure.chart");
  Array.prototype.forEach.call(figures, function (fig) {
    var buttons = fig.querySelectorAll(".legend-item");
    Array.prototype.forEach.call(buttons, function (btn) {
      btn.addEventListener("click", function () {
        var series = btn.getAttribute("data-series");
        var off = btn.classList.toggle("off");
        var marks = fig.querySelectorAll("svg [data-series]");
        Array.prototype.forEach.call(marks, function (el) {
          if (el.getAttribute("data-series") === series) {
            el.classList.toggle("hidden", off);
          }
        });
      });
    });
  });
})();
