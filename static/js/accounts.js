// Accounts: passkeys (WebAuthn), copy buttons, confirming drastic admin actions.
// Everything but passkeys works without this file.
"use strict";

(() => {
  const csrf = () => document.querySelector('meta[name="csrf-token"]').content;

  const fromBase64url = (text) => {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0)).buffer;
  };

  const toBase64url = (buffer) => {
    let binary = "";
    new Uint8Array(buffer).forEach((byte) => {
      binary += String.fromCharCode(byte);
    });
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  };

  const post = async (url, body) => {
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "X-CSRFToken": csrf(),
        Accept: "application/json",
        "Content-Type": "application/json",
      },
      body: body === undefined ? "{}" : JSON.stringify(body),
    });
    let data = {};
    try {
      data = await response.json();
    } catch (error) {
      data = {};
    }
    return { ok: response.ok, data };
  };

  const showError = (root, message) => {
    const box = root.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  };

  const cancelled = (error) => error && (error.name === "NotAllowedError" || error.name === "AbortError");

  // Setting up a passkey (account page, or required before signing in).
  document.querySelectorAll("[data-passkey-register]").forEach((button) => {
    const root = button.closest("section") || document;
    // The page serves it disabled: a click before this script ran would do nothing.
    button.disabled = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const { ok, data: options } = await post(button.dataset.optionsUrl);
        if (!ok) {
          throw new Error("options");
        }
        options.challenge = fromBase64url(options.challenge);
        options.user.id = fromBase64url(options.user.id);
        (options.excludeCredentials || []).forEach((item) => {
          item.id = fromBase64url(item.id);
        });
        const credential = await navigator.credentials.create({ publicKey: options });
        const response = credential.response;
        const nameInput = document.querySelector("[data-passkey-name]");
        const result = await post(button.dataset.registerUrl, {
          name: nameInput ? nameInput.value : "",
          credential: {
            id: credential.id,
            rawId: toBase64url(credential.rawId),
            type: credential.type,
            response: {
              clientDataJSON: toBase64url(response.clientDataJSON),
              attestationObject: toBase64url(response.attestationObject),
              transports: response.getTransports ? response.getTransports() : [],
            },
            clientExtensionResults: credential.getClientExtensionResults(),
          },
        });
        if (!result.ok) {
          showError(root, result.data.message || "The passkey could not be added. Please try again.");
          return;
        }
        if (result.data.codes && result.data.codes.length) {
          showCodes(result.data.codes, result.data.next);
        } else {
          window.location.assign(result.data.next);
        }
      } catch (error) {
        showError(
          root,
          cancelled(error)
            ? "No passkey was added. Try again when you are ready."
            : "The passkey could not be added. Please try again.",
        );
      } finally {
        button.disabled = false;
      }
    });
  });

  // Recovery codes that arrive with a first passkey: shown once, on this page.
  const showCodes = (codes, next) => {
    const section = document.querySelector("[data-recovery-codes]");
    const list = section.querySelector("[data-codes-list]");
    list.replaceChildren(
      ...codes.map((code) => {
        const item = document.createElement("li");
        const text = document.createElement("code");
        text.textContent = code;
        item.append(text);
        return item;
      }),
    );
    section.querySelector("[data-codes-next]").href = next;
    const choices = document.querySelector("[data-enrol-choices]");
    if (choices) {
      choices.hidden = true;
    }
    section.hidden = false;
    section.querySelector("h2").focus();
  };

  // Signing in with a passkey as the second factor.
  document.querySelectorAll("[data-passkey-sign-in]").forEach((button) => {
    const root = button.closest("section") || document;
    // The page serves it disabled: a click before this script ran would do nothing.
    button.disabled = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const { ok, data: options } = await post(button.dataset.optionsUrl);
        if (!ok) {
          throw new Error("options");
        }
        options.challenge = fromBase64url(options.challenge);
        (options.allowCredentials || []).forEach((item) => {
          item.id = fromBase64url(item.id);
        });
        const credential = await navigator.credentials.get({ publicKey: options });
        const response = credential.response;
        const result = await post(button.dataset.verifyUrl, {
          id: credential.id,
          rawId: toBase64url(credential.rawId),
          type: credential.type,
          response: {
            clientDataJSON: toBase64url(response.clientDataJSON),
            authenticatorData: toBase64url(response.authenticatorData),
            signature: toBase64url(response.signature),
            userHandle: response.userHandle ? toBase64url(response.userHandle) : null,
          },
          clientExtensionResults: credential.getClientExtensionResults(),
        });
        if (result.ok && result.data.next) {
          window.location.assign(result.data.next);
          return;
        }
        showError(root, result.data.message || "That passkey did not work. Please try again.");
      } catch (error) {
        showError(
          root,
          cancelled(error)
            ? "No passkey was used. Try again, or type a code below."
            : "That passkey did not work. Please try again, or type a code below.",
        );
      } finally {
        button.disabled = false;
      }
    });
  });

  // Copy buttons: a reset link, or the recovery codes.
  const copied = (button) => {
    const note = button.parentElement.querySelector("[data-copied]");
    if (note) {
      note.hidden = false;
    }
    button.textContent = "Copied";
  };
  document.querySelectorAll("[data-copy]").forEach((button) => {
    const source = document.querySelector(button.dataset.copy);
    if (!source || !navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", async () => {
      await navigator.clipboard.writeText(source.value);
      copied(button);
    });
  });
  document.querySelectorAll("[data-copy-codes]").forEach((button) => {
    if (!navigator.clipboard) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", async () => {
      const codes = [...document.querySelectorAll("[data-codes-list] code")].map((c) => c.textContent);
      await navigator.clipboard.writeText(codes.join("\n"));
      copied(button);
    });
  });

  // Drastic administrator actions ask once more.
  document.querySelectorAll("form[data-confirm]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) {
        event.preventDefault();
      }
    });
  });
})();
