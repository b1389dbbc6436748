// Tandem's progressive enhancements. Every page works without this file.
"use strict";

// Print buttons: shown only when JavaScript can print the page.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});

// Plan builder: drag exercises into a new order; the plan form saves it at once.
// Without JavaScript the Move up / Move down buttons do the same through plain posts.
function enablePlanSorting(root) {
  const list = root.querySelector ? root.querySelector("#plan-items") : null;
  if (!list || typeof Sortable === "undefined" || list.dataset.sortable) {
    return;
  }
  list.dataset.sortable = "on";
  Sortable.create(list, {
    handle: ".drag-handle",
    animation: 150,
    // Pointer events instead of native drag and drop: works the same with mouse, pen and
    // touch, and in every browser.
    forceFallback: true,
    onEnd(event) {
      if (event.oldIndex === event.newIndex) {
        return;
      }
      list.querySelectorAll(".plan-item-number").forEach((number, index) => {
        number.textContent = `${index + 1}.`;
      });
      const form = document.getElementById("plan-form");
      if (form) {
        form.requestSubmit();
      }
    },
  });
}

// Time zones. A form that creates an account fills in this browser's zone
// (data-browser-zone="fill"); the account page offers it when it differs from the saved
// one (data-browser-zone="offer"). The server checks the name against the zones it knows.
function browserZone() {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch {
    return "";
  }
}

function useBrowserZone() {
  const zone = browserZone();
  document.querySelectorAll("select[data-browser-zone]").forEach((select) => {
    if (!zone || ![...select.options].some((option) => option.value === zone)) {
      return;
    }
    if (select.dataset.browserZone === "fill") {
      select.value = zone;
      return;
    }
    const offer = document.getElementById("zone-offer");
    if (!offer || select.value === zone) {
      return;
    }
    offer.querySelectorAll(".zone-offer-browser").forEach((name) => {
      name.textContent = zone;
    });
    offer.querySelector(".zone-offer-use").addEventListener("click", () => {
      select.value = zone;
      select.form.requestSubmit();
    });
    offer.hidden = false;
  });
}

useBrowserZone();

// Plan builder: the minutes total follows what is typed, before the plan is saved. Only
// exercises done in the session count (homework is done at home), as on the server.
function updatePlanTotal() {
  const total = document.getElementById("plan-total");
  const list = document.getElementById("plan-items");
  if (!total || !list) {
    return;
  }
  const length = Number(total.dataset.sessionMinutes) || 0;
  let planned = 0;
  let homework = 0;
  list.querySelectorAll(".plan-item").forEach((item) => {
    const minutes = item.querySelector('input[name$="-minutes"]');
    const isHomework = item.querySelector('input[name$="-homework"]');
    if (isHomework && isHomework.checked) {
      homework += 1;
      return;
    }
    const value = minutes ? Number.parseInt(minutes.value, 10) : Number.NaN;
    if (Number.isFinite(value) && value > 0) {
      planned += value;
    }
  });
  const over = planned - length;
  total.querySelector(".plan-total-planned").textContent = `${planned} of ${length} minutes`;
  total.querySelector(".over-warning").textContent =
    over > 0 ? `· Over by ${over} minutes` : "";
  total.classList.toggle("is-over", over > 0);
  total.querySelector(".plan-total-homework").textContent =
    homework > 0 ? `· ${homework} as homework` : "";
  const meter = total.parentElement.querySelector("meter");
  if (meter) {
    meter.max = Math.max(length, planned);
    meter.value = planned;
    meter.setAttribute("max", String(meter.max));
    meter.setAttribute("value", String(planned));
  }
}

document.addEventListener("input", (event) => {
  if (event.target.closest && event.target.closest("#plan-items")) {
    updatePlanTotal();
  }
});
document.addEventListener("change", (event) => {
  if (event.target.closest && event.target.closest("#plan-items")) {
    updatePlanTotal();
  }
});

// After "Add" the new exercise's minutes field carries autofocus: htmx focuses it after
// the swap; make sure it is scrolled into view too (a page load does both by itself).
function focusAdded(root) {
  const field = root.querySelector ? root.querySelector("#plan-items [autofocus]") : null;
  if (field && document.activeElement !== field) {
    field.focus();
  }
  if (field) {
    field.scrollIntoView({ block: "center" });
  }
}

document.addEventListener("DOMContentLoaded", () => enablePlanSorting(document));
// Content swapped in by htmx (the plan after a change) gets the same treatment.
document.addEventListener("htmx:load", (event) => {
  enablePlanSorting(event.detail.elt);
  focusAdded(event.detail.elt);
});
