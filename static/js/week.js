// A partner's week page: ticks and short answers are kept on this phone (localStorage,
// under a key per partner that is not the link) until the server says they are saved.
// Each send has an id made here; the server saves an id once, so sending again after a
// dropped connection never makes a copy. Without JavaScript the form posts whole.
"use strict";

(() => {
  const form = document.getElementById("week-form");
  if (!form || !window.localStorage) {
    return;
  }
  const key = form.dataset.storageKey;
  const sendUrl = form.dataset.sendUrl;
  const status = document.getElementById("week-status");
  const csrf = () => {
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  };

  const load = () => {
    try {
      return JSON.parse(localStorage.getItem(key)) || {};
    } catch (error) {
      return {};
    }
  };
  const state = load();
  state.ticks = state.ticks || {}; // item -> [day, ...] as ticked on this phone
  state.sentTicks = state.sentTicks || {}; // item -> [day, ...] last queued
  state.drafts = state.drafts || {}; // "item-prompt" -> {text, private}
  state.queue = state.queue || []; // sends not yet confirmed by the server
  const save = () => {
    try {
      localStorage.setItem(key, JSON.stringify(state));
    } catch (error) {
      // Storage full or refused: the page still works, the form just is not kept.
    }
  };

  const newId = () => {
    if (window.crypto && crypto.randomUUID) {
      return crypto.randomUUID();
    }
    const bytes = new Uint8Array(16);
    crypto.getRandomValues(bytes);
    return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
  };

  const say = (text) => {
    if (status) {
      status.textContent = text;
    }
  };

  // Put back what this phone holds: ticks, and answers typed but not sent.
  form.querySelectorAll("input[data-day]").forEach((box) => {
    const days = state.ticks[box.dataset.item] || [];
    box.checked = days.includes(Number(box.dataset.day));
    box.addEventListener("change", () => {
      const item = box.dataset.item;
      const chosen = new Set(state.ticks[item] || []);
      if (box.checked) {
        chosen.add(Number(box.dataset.day));
      } else {
        chosen.delete(Number(box.dataset.day));
      }
      state.ticks[item] = [...chosen].sort((a, b) => a - b);
      save();
    });
  });
  const draftKey = (element) => `${element.dataset.item}-${element.dataset.prompt}`;
  form.querySelectorAll("textarea[data-prompt]").forEach((area) => {
    const draft = state.drafts[draftKey(area)];
    if (draft) {
      area.value = draft.text || "";
    }
    area.addEventListener("input", () => {
      const draft = state.drafts[draftKey(area)] || {};
      draft.text = area.value;
      state.drafts[draftKey(area)] = draft;
      save();
    });
  });
  form.querySelectorAll("input[data-private]").forEach((box) => {
    const draft = state.drafts[draftKey(box)];
    if (draft) {
      box.checked = Boolean(draft.private);
    }
    box.addEventListener("change", () => {
      const draft = state.drafts[draftKey(box)] || {};
      draft.private = box.checked;
      state.drafts[draftKey(box)] = draft;
      save();
    });
  });

  let sending = false;
  const flush = async () => {
    if (sending || state.queue.length === 0) {
      return;
    }
    sending = true;
    const batch = state.queue.slice();
    try {
      const response = await fetch(sendUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
        body: JSON.stringify({ submissions: batch }),
      });
      if (response.status === 403) {
        say(
          "This link has closed. Open the newest link from your email: what you wrote is kept on this phone and goes then.",
        );
        return;
      }
      if (!response.ok) {
        say("Your answers could not be sent just now. They are kept on this phone; try again soon.");
        return;
      }
      const result = await response.json();
      const done = new Set([...(result.saved || []), ...Object.keys(result.refused || {})]);
      state.queue = state.queue.filter((entry) => !done.has(entry.id));
      save();
      if (Object.keys(result.refused || {}).length) {
        say("Sent. Some answers could not be kept (too long, or about homework no longer set).");
      } else if (state.queue.length === 0) {
        say("Sent to your therapist. Thank you.");
      }
    } catch (error) {
      say("You are offline. Your answers are kept on this phone and will be sent when you are back online.");
    } finally {
      sending = false;
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    let added = 0;
    Object.entries(state.ticks).forEach(([item, days]) => {
      const before = JSON.stringify(state.sentTicks[item] || []);
      if (days.length && JSON.stringify(days) !== before) {
        state.queue.push({ id: newId(), kind: "ticks", item: Number(item), days });
        state.sentTicks[item] = days;
        added += 1;
      }
    });
    form.querySelectorAll("textarea[data-prompt]").forEach((area) => {
      const text = area.value.trim();
      if (!text) {
        return;
      }
      const draft = state.drafts[draftKey(area)] || {};
      state.queue.push({
        id: newId(),
        kind: "note",
        item: Number(area.dataset.item),
        prompt: Number(area.dataset.prompt),
        text,
        private: Boolean(draft.private),
      });
      delete state.drafts[draftKey(area)];
      area.value = "";
      const privateBox = form.querySelector(
        `input[data-private][data-item="${area.dataset.item}"][data-prompt="${area.dataset.prompt}"]`,
      );
      if (privateBox) {
        privateBox.checked = false;
      }
      added += 1;
    });
    save();
    if (added === 0 && state.queue.length === 0) {
      say("Nothing new to send yet: tick a day or write an answer first.");
      return;
    }
    say("Sending…");
    flush();
  });

  window.addEventListener("online", flush);
  if (state.queue.length) {
    say("Sending what you wrote earlier…");
    flush();
  }
})();
