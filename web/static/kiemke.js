// kiemke: small progressive enhancements; every page works without this file.
document.addEventListener("change", function (event) {
  var box = event.target;
  var name = box.getAttribute && box.getAttribute("data-select-all");
  if (!name) return;
  document.querySelectorAll('input[type="checkbox"][name="' + name + '"]').forEach(function (other) {
    other.checked = box.checked;
  });
});
