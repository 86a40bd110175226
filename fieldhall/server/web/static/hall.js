// The hall UI's only script: keyboard use of lists and case pages. Pages work without it.
"use strict";

(function () {
  function typing(target) {
    const tag = target && target.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || (target && target.isContentEditable);
  }

  function rows() {
    return Array.from(document.querySelectorAll("table.cases tr.row"));
  }

  function select(list, index) {
    if (!list.length) return;
    const next = Math.max(0, Math.min(list.length - 1, index));
    list.forEach((row, i) => row.classList.toggle("selected", i === next));
    const link = list[next].querySelector("a.open");
    if (link) link.focus();
  }

  function current(list) {
    const active = document.activeElement && document.activeElement.closest("tr.row");
    const at = list.indexOf(active);
    if (at >= 0) return at;
    return list.findIndex((row) => row.classList.contains("selected"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) return;
    const list = rows();
    switch (event.key) {
      case "j":
      case "ArrowDown":
        if (!list.length) return;
        event.preventDefault();
        select(list, current(list) + 1);
        break;
      case "k":
      case "ArrowUp":
        if (!list.length) return;
        event.preventDefault();
        select(list, current(list) < 0 ? 0 : current(list) - 1);
        break;
      case "Enter": {
        const at = current(list);
        if (at >= 0 && document.activeElement === document.body) {
          const link = list[at].querySelector("a.open");
          if (link) link.click();
        }
        break;
      }
      case "/": {
        const search = document.getElementById("search");
        if (search) {
          event.preventDefault();
          search.focus();
          search.select();
        }
        break;
      }
      case "u": {
        const back = document.getElementById("back");
        if (back) back.click();
        break;
      }
    }
  });

  // A form is sent once: a second press while the first is on its way does nothing (the
  // hidden Idempotency-Key makes a resend harmless anyway).
  document.addEventListener("submit", function (event) {
    const form = event.target;
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
  });
})();
