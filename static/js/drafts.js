// Drafts: what a therapist types is kept in this browser tab until a page shows it saved.
//
// A save can fail in ways the page cannot prevent: the session timed out (the form posts
// to the sign-in page), the connection dropped, or the server answered 5xx. Each typed
// value is copied to sessionStorage as it is typed (never to a cookie, never sent
// anywhere), keyed by therapist, page path and field name. When the page shows again and
// the field holds something else, the draft is put back with a message and a Discard
// button.
//
// When is a draft saved? Only a page rendered for a GET proves it: the app redirects
// after every successful save (post/redirect/get), while a form shown again after a
// validation error or a conflict is the answer to the POST and echoes the typed text
// without having saved it. So a draft is dropped when
//   (a) a GET-rendered page (or a GET/redirected htmx swap) shows exactly the draft's
//       text in that field, or
//   (b) the form was posted and the very next page is a GET reached by a redirect to
//       another page, as the same therapist (a save that redirects elsewhere);
// and when the therapist signs out on purpose (see the sign-out handler below).
"use strict";

(() => {
  const PREFIX = "tandem:draft:";
  const SUBMITTED = "tandem:submitted";
  // Older than the longest possible login session: nobody is coming back for it.
  const MAX_AGE_MS = 12 * 3600 * 1000;
  const FIELDS = [
    "textarea",
    'input[type="text"]',
    'input[type="email"]',
    'input[type="tel"]',
    'input[type="url"]',
    'input[type="number"]',
    'input[type="date"]',
    'input[type="time"]',
  ].join(", ");

  const meta = (name) => document.querySelector(`meta[name="${name}"]`);
  const user = meta("tandem-user") ? meta("tandem-user").content : null;
  const renderedByGet = meta("tandem-rendered-by")?.content === "GET";

  let store = null;
  try {
    store = window.sessionStorage;
    store.getItem(SUBMITTED);
  } catch {
    store = null; // storage switched off: nothing can be kept, and messages must not say so
  }
  window.TandemDrafts = { available: Boolean(store && user) };
  if (!store) {
    return;
  }

  const read = (key) => {
    try {
      return JSON.parse(store.getItem(key));
    } catch {
      return null;
    }
  };
  const write = (key, value) => {
    try {
      store.setItem(key, JSON.stringify(value));
    } catch {
      window.TandemDrafts.available = false; // over quota
    }
  };
  const draftKeys = (prefix) => {
    const keys = [];
    for (let i = 0; i < store.length; i += 1) {
      const key = store.key(i);
      if (key && key.startsWith(prefix)) {
        keys.push(key);
      }
    }
    return keys;
  };

  for (const key of draftKeys(PREFIX)) {
    const draft = read(key);
    if (!draft || Date.now() - draft.t > MAX_AGE_MS) {
      store.removeItem(key);
    }
  }

  if (!user) {
    // The sign-in page: keep every draft for when the therapist is back, but a form post
    // that ended here (an expired session) was not a save.
    store.removeItem(SUBMITTED);
    return;
  }

  const normalise = (text) => text.replace(/\r\n?/g, "\n").trim();
  const keyFor = (field) => `${PREFIX}${user}:${window.location.pathname}:${field.name}`;
  const tracked = (field) =>
    field instanceof HTMLElement &&
    field.matches(FIELDS) &&
    field.name &&
    field.form &&
    field.form.method === "post" &&
    !field.readOnly &&
    !field.disabled &&
    !field.closest('[data-draft="off"]');

  function keep(field) {
    const key = keyFor(field);
    const old = read(key);
    if (normalise(field.value) === normalise(field.defaultValue)) {
      store.removeItem(key);
      return;
    }
    write(key, { v: field.value, t: old && old.v === field.value ? old.t : Date.now() });
  }

  document.addEventListener("input", (event) => {
    if (tracked(event.target)) {
      keep(event.target);
    }
  });

  // --- a save was sent --------------------------------------------------------------------
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.hasAttribute("data-sign-out")) {
      return;
    }
    const fields = [...form.elements].filter(tracked);
    fields.forEach((field) => keep(field)); // a value set without an input event, too
    // htmx has taken over the post (it prevented the default): no page load will follow.
    if (!event.defaultPrevented && fields.length) {
      write(SUBMITTED, {
        user,
        path: window.location.pathname,
        keys: fields.map(keyFor),
        at: Date.now(),
      });
    }
  });

  function savedElsewhere() {
    const mark = read(SUBMITTED);
    store.removeItem(SUBMITTED);
    const navigation = performance.getEntriesByType("navigation")[0];
    if (
      !mark ||
      mark.user !== user ||
      !renderedByGet ||
      !navigation ||
      navigation.redirectCount === 0 ||
      mark.path === window.location.pathname ||
      Date.now() - mark.at > 10 * 60 * 1000
    ) {
      return;
    }
    for (const key of mark.keys) {
      const draft = read(key);
      if (draft && draft.t <= mark.at) {
        store.removeItem(key);
      }
    }
  }

  // --- the page shows again ---------------------------------------------------------------
  function when(stamp) {
    const date = new Date(stamp);
    const time = date.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
    if (date.toDateString() === new Date().toDateString()) {
      return `at ${time}`;
    }
    return `on ${date.toLocaleDateString([], { day: "numeric", month: "short" })} at ${time}`;
  }

  let noticeCount = 0;
  function announce(form, restored) {
    noticeCount += 1;
    const id = `draft-notice-${noticeCount}`;
    const first = Math.min(...restored.map(([, draft]) => draft.t));
    const notice = document.createElement("div");
    notice.className = "flash flash-warning draft-notice";
    notice.id = id;
    notice.setAttribute("role", "status");
    const text = document.createElement("p");
    // "Is not saved": true whatever happened to the post (the page shows other text now).
    text.textContent = `Restored text you typed ${when(first)} that is not saved yet. `;
    const discard = document.createElement("button");
    discard.type = "button";
    discard.className = "secondary outline compact";
    discard.textContent = "Discard";
    text.append(discard);
    notice.append(text);
    form.prepend(notice);
    restored.forEach(([field]) => {
      field.classList.add("is-restored");
      const described = (field.getAttribute("aria-describedby") || "").split(" ").filter(Boolean);
      field.setAttribute("aria-describedby", [...described, id].join(" "));
    });
    discard.addEventListener("click", () => {
      restored.forEach(([field]) => {
        field.value = field.defaultValue;
        store.removeItem(keyFor(field));
        field.classList.remove("is-restored");
        const described = field.getAttribute("aria-describedby").split(" ").filter((t) => t !== id);
        if (described.length) {
          field.setAttribute("aria-describedby", described.join(" "));
        } else {
          field.removeAttribute("aria-describedby");
        }
      });
      notice.remove();
      restored[0][0].focus();
    });
  }

  const seen = new WeakSet();
  function restore(root, byGet) {
    const fields = root.matches && root.matches(FIELDS) ? [root] : [];
    fields.push(...(root.querySelectorAll ? root.querySelectorAll(FIELDS) : []));
    const byForm = new Map();
    for (const field of fields) {
      if (seen.has(field) || !tracked(field)) {
        continue;
      }
      seen.add(field);
      const key = keyFor(field);
      const draft = read(key);
      if (!draft) {
        continue;
      }
      if (normalise(draft.v) === normalise(field.defaultValue)) {
        if (byGet) {
          store.removeItem(key);
        }
        continue;
      }
      field.value = draft.v;
      if (!byForm.has(field.form)) {
        byForm.set(field.form, []);
      }
      byForm.get(field.form).push([field, draft]);
    }
    byForm.forEach((restored, form) => announce(form, restored));
  }

  // htmx swaps: a GET, or a post the server answered with a redirect, shows saved state.
  let swapByGet = renderedByGet;
  document.addEventListener("htmx:beforeSwap", (event) => {
    const { xhr, requestConfig, pathInfo } = event.detail;
    const asked = pathInfo && (pathInfo.finalRequestPath || pathInfo.requestPath);
    const redirected =
      xhr &&
      xhr.responseURL &&
      asked &&
      new URL(xhr.responseURL).pathname !== new URL(asked, window.location.href).pathname;
    swapByGet = Boolean((requestConfig && requestConfig.verb === "get") || redirected);
  });
  document.addEventListener("htmx:load", (event) => restore(event.detail.elt, swapByGet));

  // --- an explicit sign-out ---------------------------------------------------------------
  // A clinic computer is shared: whoever signs out on purpose leaves no notes behind in
  // this tab. Text still unsaved on this very page is asked about first.
  document.addEventListener("submit", (event) => {
    if (!event.target.hasAttribute("data-sign-out")) {
      return;
    }
    const unsaved = [...document.querySelectorAll(FIELDS)].filter(
      (field) => tracked(field) && normalise(field.value) !== normalise(field.defaultValue)
    );
    if (
      unsaved.length &&
      !window.confirm(
        "Text you typed on this page has not been saved. Sign out anyway and discard it?"
      )
    ) {
      event.preventDefault();
      unsaved[0].focus();
      return;
    }
    draftKeys(`${PREFIX}${user}:`).forEach((key) => store.removeItem(key));
    store.removeItem(SUBMITTED);
  });

  savedElsewhere();
  restore(document, renderedByGet);
})();
