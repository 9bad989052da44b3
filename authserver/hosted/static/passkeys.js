// Passkeys on the hosted pages (W3C WebAuthn Level 3). The server gives the options in their JSON
// form (PublicKeyCredential{Creation,Request}OptionsJSON, §5.4 and §5.5); the browser turns them
// into a prompt with PublicKeyCredential.parse*OptionsFromJSON and its answer back into JSON with
// credential.toJSON() (§5.1.4.1), which a form posts to the server. Three forms use it:
//   #passkey-signin  the sign-in page: conditional UI in the email field's autofill, and a button;
//   #passkey-verify  the second step: the user's passkeys and security keys;
//   #passkey-create  enrollment during sign-in: create the passkey, then answer the second step.
"use strict";

(() => {
  const form = document.querySelector("#passkey-signin, #passkey-verify, #passkey-create");
  if (!form) return;
  const button = form.querySelector("#passkey-button");
  const status = form.querySelector("#passkey-status");
  const answer = form.querySelector("input[name=credential], input[name=code]");
  const supported = window.PublicKeyCredential
    && typeof PublicKeyCredential.parseRequestOptionsFromJSON === "function";

  const say = (text) => { status.textContent = text; };

  if (!supported) {
    button.disabled = true;
    say("This browser cannot use passkeys. Update it, or use another way to sign in.");
    return;
  }

  // The options of a prompt: from the server (sign-in, second step) or the page (enrollment).
  async function requestOptions() {
    const response = await fetch(form.dataset.options, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": form.elements.csrf_token.value },
    });
    const body = await response.json();
    if (!response.ok) throw new Error(body.error_description || "The server refused.");
    return PublicKeyCredential.parseRequestOptionsFromJSON(body);
  }

  function post(credential) {
    answer.value = JSON.stringify(credential.toJSON());
    form.submit();
  }

  function explain(error) {
    if (error.name === "AbortError") return;
    say(error.name === "NotAllowedError"
      ? "The passkey prompt was closed or timed out. Try again."
      : error.message);
    button.disabled = false;
  }

  let waiting = null; // the conditional request, given up when the button is pressed

  async function prompt() {
    button.disabled = true;
    say("");
    if (waiting) waiting.abort();
    try {
      if (form.id === "passkey-create") {
        const publicKey = PublicKeyCredential.parseCreationOptionsFromJSON(
          JSON.parse(form.dataset.creation));
        post(await navigator.credentials.create({ publicKey }));
      } else {
        post(await navigator.credentials.get({ publicKey: await requestOptions() }));
      }
    } catch (error) {
      explain(error);
    }
  }

  // Conditional UI (§5.1.4, mediation "conditional"): the browser lists the user's passkeys in
  // the email field's autofill; choosing one signs in without the password.
  async function offerInAutofill() {
    if (!(await PublicKeyCredential.isConditionalMediationAvailable?.())) return;
    waiting = new AbortController();
    try {
      const publicKey = await requestOptions();
      post(await navigator.credentials.get({
        publicKey, mediation: "conditional", signal: waiting.signal }));
    } catch (error) {
      if (error.name !== "AbortError") explain(error);
    }
  }

  button.addEventListener("click", prompt);
  if (form.id === "passkey-signin") offerInAutofill();
})();
