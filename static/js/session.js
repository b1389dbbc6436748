// The login session as the page sees it: a warning before the idle timeout with a
// "Stay signed in" button, and a message (never a blank region) when an htmx action
// meets a session that has ended, a lost connection or a server error.
//
// The server is the clock: every page says how many seconds are left
// (<meta name="tandem-session">), and before warning, a tab asks the server again
// (GET /session does not count as activity), because a save or "Stay signed in" in
// another tab may have moved the limit.
"use strict";

(() => {
  const meta = document.querySelector('meta[name="tandem-session"]');
  const notices = document.getElementById("page-notices");
  const here = () => window.location.pathname + window.location.search;
  const loginUrl = () => {
    const base = meta ? meta.dataset.loginUrl : "/login";
    return `${base}?next=${encodeURIComponent(here())}`;
  };

  // --- messages ---------------------------------------------------------------------------
  function notify(message, { signIn = false } = {}) {
    if (!notices) {
      return;
    }
    notices.replaceChildren();
    const box = document.createElement("div");
    box.className = "flash flash-error page-notice";
    const text = document.createElement("p");
    text.textContent = `${message} `;
    if (signIn) {
      const link = document.createElement("a");
      link.href = loginUrl();
      link.textContent = "Sign in again";
      text.append(link);
    }
    const close = document.createElement("button");
    close.type = "button";
    close.className = "secondary outline compact";
    close.textContent = "Dismiss";
    close.addEventListener("click", () => box.remove());
    box.append(text, close);
    notices.append(box);
  }

  const keptInBrowser = () =>
    window.TandemDrafts && window.TandemDrafts.available
      ? "Your text is kept in this browser."
      : "Copy any text you typed before you leave this page.";

  function signedOut() {
    notify(`You were signed out, so this was not saved. ${keptInBrowser()}`, { signIn: true });
  }

  async function askServer() {
    if (!meta) {
      return null;
    }
    const response = await fetch(meta.dataset.statusUrl, {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    });
    if (response.status === 401) {
      return { signedOut: true };
    }
    if (!response.ok) {
      throw new Error(`status ${response.status}`);
    }
    return response.json();
  }

  // --- htmx -------------------------------------------------------------------------------
  document.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr } = event.detail;
    // A redirect to the sign-in page (followed by the browser) must never replace the
    // region it was meant for.
    if (xhr && xhr.responseURL && meta) {
      const landed = new URL(xhr.responseURL);
      if (landed.pathname === meta.dataset.loginUrl) {
        event.detail.shouldSwap = false;
        event.detail.isError = false;
        signedOut();
      }
    }
  });

  document.addEventListener("htmx:responseError", async (event) => {
    const status = event.detail.xhr.status;
    if (status === 401) {
      signedOut();
    } else if (status === 403) {
      notify(
        "This couple is shared with you to read, not to change, so this change was not saved."
      );
    } else if (status === 404) {
      notify(
        "This record is no longer open to you (it was deleted, or is no longer shared with you), so this change was not saved. Your text is still here."
      );
    } else if (status >= 500) {
      notify(
        "Tandem hit an error; nothing was saved from this change. Your text is still here; try again."
      );
    } else {
      // A 400 here is almost always a form token from before a sign-out or sign-in in
      // another tab: ask the server which.
      let state = null;
      try {
        state = await askServer();
      } catch {
        state = null;
      }
      if (state && state.signedOut) {
        signedOut();
      } else {
        notify(
          "Tandem could not accept this change, so it was not saved. Reload the page and try again."
        );
      }
    }
  });

  document.addEventListener("htmx:sendError", () => {
    notify(
      "Could not reach Tandem, so this change may not have been saved. Your text is still here; check the connection and try again."
    );
  });

  // --- the idle warning -------------------------------------------------------------------
  const dialog = document.getElementById("idle-warning");
  if (!meta || !dialog) {
    return;
  }
  const warningMs = Number(meta.dataset.warningSeconds) * 1000;
  const stay = dialog.querySelector("[data-stay]");
  const close = dialog.querySelector("[data-close]");
  const countdown = dialog.querySelector("[data-countdown]");
  let deadline = Date.now() + Number(meta.content) * 1000;
  let limit = meta.dataset.limit;
  let timer = null;
  let ticker = null;
  // The deadline the therapist closed the warning for (Escape or Close): not shown again
  // for the same deadline, only the sign-in page when it passes.
  let dismissedFor = null;
  const channel = "BroadcastChannel" in window ? new BroadcastChannel("tandem-session") : null;

  function remaining() {
    const seconds = Math.max(0, Math.round((deadline - Date.now()) / 1000));
    const minutes = Math.floor(seconds / 60);
    const rest = seconds % 60;
    if (minutes === 0) {
      return `${rest} second${rest === 1 ? "" : "s"}`;
    }
    return `${minutes} minute${minutes === 1 ? "" : "s"}${rest ? ` ${rest} s` : ""}`;
  }

  function closeWarning() {
    clearInterval(ticker);
    if (dialog.open) {
      dialog.close();
    }
  }

  function openWarning() {
    dialog.querySelectorAll("[data-limit]").forEach((part) => {
      part.hidden = part.dataset.limit !== limit;
    });
    stay.hidden = limit !== "idle";
    close.hidden = limit === "idle";
    if (dismissedFor !== null && Math.abs(dismissedFor - deadline) < 5000) {
      return;
    }
    dismissedFor = null;
    countdown.textContent = remaining();
    clearInterval(ticker);
    ticker = setInterval(() => {
      countdown.textContent = remaining();
    }, 1000);
    if (!dialog.open) {
      dialog.showModal();
      (limit === "idle" ? stay : close).focus();
    }
  }

  function ended() {
    closeWarning();
    clearTimeout(timer);
    // Client records should not stay on screen once the session is over; typed text is
    // already kept as a draft, and the sign-in page leads back here.
    window.location.assign(loginUrl());
  }

  function update(state) {
    deadline = Date.now() + state.seconds_left * 1000;
    limit = state.limit;
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    const left = deadline - Date.now();
    if (left > warningMs) {
      closeWarning();
      timer = setTimeout(check, left - warningMs);
    } else {
      openWarning();
      // While the warning shows, look again now and then: another tab may keep us in.
      timer = setTimeout(check, Math.min(Math.max(left, 0) + 1000, 15000));
    }
  }

  async function check() {
    let state;
    try {
      state = await askServer();
    } catch {
      // Offline: trust the clock we have and look again shortly.
      timer = setTimeout(check, 15000);
      if (deadline - Date.now() <= warningMs) {
        openWarning();
      }
      return;
    }
    if (state.signedOut) {
      ended();
    } else {
      update(state);
    }
  }

  stay.addEventListener("click", async () => {
    stay.disabled = true;
    try {
      const response = await fetch(meta.dataset.keepAliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: {
          Accept: "application/json",
          "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
        },
      });
      if (response.status === 401) {
        ended();
        return;
      }
      if (!response.ok) {
        throw new Error(`status ${response.status}`);
      }
      const state = await response.json();
      update(state);
      if (channel) {
        channel.postMessage(state);
      }
    } catch {
      notify("Could not reach Tandem to keep you signed in. Check the connection and try again.");
    } finally {
      stay.disabled = false;
    }
  });
  close.addEventListener("click", closeWarning);
  dialog.addEventListener("close", () => {
    clearInterval(ticker);
    if (deadline - Date.now() <= warningMs) {
      dismissedFor = deadline;
    }
  });

  // Another tab kept the session alive, or this tab made a request of its own.
  if (channel) {
    channel.addEventListener("message", (event) => update(event.data));
  }
  // Every request counts as activity on the server; ask what that made of the deadline.
  document.addEventListener("htmx:afterRequest", (event) => {
    if (event.detail.successful) {
      check();
    }
  });
  // Timers sleep in background tabs and on a laptop lid; look again on return.
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && deadline - Date.now() <= warningMs) {
      check();
    }
  });

  schedule();
})();
