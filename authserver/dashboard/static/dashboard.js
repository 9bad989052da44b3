// Small enhancements; every page works without them. No inline script (the CSP forbids it).
"use strict";

function copyButtons() {
  for (const button of document.querySelectorAll("[data-copy]")) {
    button.addEventListener("click", async () => {
      const text = document.getElementById(button.dataset.copy).textContent.trim();
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    });
  }
}

function confirmations() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

// The SMS preview follows the template, issuer and code lifetime as the administrator types;
// the server renders it with the same checks as saving.
function smsPreview() {
  const form = document.getElementById("security-form");
  if (!form) return;
  const text = document.getElementById("sms-preview-text");
  const length = document.getElementById("sms-preview-length");
  let timer = null;
  const refresh = async () => {
    const body = new FormData(form);
    body.set("action", "preview");
    const response = await fetch(form.getAttribute("action"), {  // form.action: the button
      method: "POST", body, headers: { "X-CSRF-Token": body.get("csrf_token") },
    });
    if (!response.ok) return;
    const preview = await response.json();
    text.textContent = preview.error || preview.text;
    text.classList.toggle("invalid", Boolean(preview.error));
    length.textContent = preview.error ? "" : `${preview.characters} characters, ${preview.segments} SMS`;
  };
  for (const name of ["sms_template", "totp_issuer", "sms_code_minutes"]) {
    form.elements[name].addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(refresh, 250);
    });
  }
}

document.addEventListener("DOMContentLoaded", () => {
  copyButtons();
  confirmations();
  smsPreview();
});
