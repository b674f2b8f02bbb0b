// kiemke: live progress of one scan run; polls the JSON endpoint every second.
(function () {
  var box = document.querySelector("[data-progress-url]");
  if (!box) return;
  var url = box.getAttribute("data-progress-url");
  var bar = box.querySelector("progress");
  var text = box.querySelector("[data-progress-text]");
  var phase = box.querySelector("[data-phase-text]");
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" }, cache: "no-store" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (data.total && data.phase !== "sweep" && data.phase !== "probe") { bar.max = data.total; bar.value = data.done; }
        text.textContent = data.done + " / " + (data.total === null || data.total === undefined ? "?" : data.total);
        // The phase (sweep, SNMP probe, collect) with its counts, worded by the server.
        if (phase && data.phase_text) { phase.textContent = data.phase_text; }
        if (data.phase === "sweep" || data.phase === "probe") {
          if (data.counts && data.counts.addresses) { bar.max = data.counts.addresses; bar.value = data.counts.addresses_done; }
        }
        if (data.state !== "running") { window.location.reload(); return; }
        setTimeout(tick, 1000);
      })
      .catch(function () { setTimeout(tick, 3000); });
  }
  setTimeout(tick, 1000);
})();
