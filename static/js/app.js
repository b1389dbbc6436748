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

document.addEventListener("DOMContentLoaded", () => enablePlanSorting(document));
// Content swapped in by htmx (the plan after a change) gets the same treatment.
document.addEventListener("htmx:load", (event) => enablePlanSorting(event.detail.elt));
