// Tandem's progressive enhancements. Every page works without this file.
"use strict";

// Print buttons: shown only when JavaScript can print the page.
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
