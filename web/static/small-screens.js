// kiemke: filters behind a toggle on narrow screens (issue 15, item 10). Without this file the
// filter forms simply stay open; nothing else depends on it.
(function () {
  var narrow = window.matchMedia("(max-width: 48rem)");
  function wrapFilters() {
    var label = document.body.getAttribute("data-filters-label") || "Filters";
    document.querySelectorAll("main form.filters:not(.search-page)").forEach(function (form) {
      if (form.parentElement && form.parentElement.classList.contains("filters-toggle")) return;
      var details = document.createElement("details");
      details.className = "filters-toggle";
      var summary = document.createElement("summary");
      summary.textContent = label;
      form.parentNode.insertBefore(details, form);
      details.appendChild(summary);
      details.appendChild(form);
      details.open = !narrow.matches;
    });
  }
  function follow() {
    document.querySelectorAll("details.filters-toggle").forEach(function (details) {
      details.open = !narrow.matches;
    });
  }
  document.addEventListener("DOMContentLoaded", wrapFilters);
  if (narrow.addEventListener) narrow.addEventListener("change", follow);
})();
