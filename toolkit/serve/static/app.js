// Drag and drop onto the upload zone, and "select all" on the board. No inline script anywhere (CSP).
document.addEventListener("DOMContentLoaded", setUp);
document.addEventListener("htmx:afterSwap", setUp);

function setUp() {
  const zone = document.getElementById("drop-zone");
  if (zone && !zone.dataset.ready) {
    zone.dataset.ready = "1";
    const input = zone.querySelector("input[type=file]");
    ["dragenter", "dragover"].forEach((name) => zone.addEventListener(name, (e) => { e.preventDefault(); zone.classList.add("over"); }));
    ["dragleave", "drop"].forEach((name) => zone.addEventListener(name, () => zone.classList.remove("over")));
    zone.addEventListener("drop", (e) => {
      e.preventDefault();
      if (e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
        zone.closest("form").requestSubmit();
      }
    });
    input.addEventListener("change", () => { zone.dataset.file = input.files.length ? input.files[0].name : ""; });
  }
  const all = document.getElementById("select-all");
  if (all && !all.dataset.ready) {
    all.dataset.ready = "1";
    all.addEventListener("change", () => document.querySelectorAll(".pick-agency").forEach((box) => { box.checked = all.checked; }));
  }
}
