// Copy buttons next to links: copy the field's text and say so. Without JavaScript
// (or clipboard access) the field can still be selected and copied by hand.
"use strict";

document.querySelectorAll("[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  if (!field) {
    return;
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    const label = button.textContent;
    try {
      await navigator.clipboard.writeText(field.value);
      button.textContent = "Copied";
    } catch (error) {
      field.select();
      button.textContent = "Press Ctrl+C to copy";
    }
    setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
});
