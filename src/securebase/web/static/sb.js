// Inline validation of data-entry forms: on each change, the form is checked by the server (nothing is
// saved) and the message of each answered item is shown beside it. Pages work without JavaScript too.
document.addEventListener("change", async (ev) => {
  const form = ev.target.closest("form[data-validate-url]");
  if (!form) return;
  const res = await fetch(form.dataset.validateUrl, {method: "POST", body: new FormData(form),
                                                     credentials: "same-origin"});
  if (!res.ok) return;
  const data = await res.json();
  form.querySelectorAll(".field-error[data-for]").forEach((el) => {
    const key = el.dataset.for.replace(/^item_/, "");
    const msg = (data.issues || {})[key] || "";
    el.textContent = msg ? "Error: " + msg : "";
    el.hidden = msg === "";
    const input = document.getElementById("f-" + el.dataset.for);
    if (input) {
      if (msg) input.setAttribute("aria-invalid", "true"); else input.removeAttribute("aria-invalid");
    }
    el.parentElement.classList.toggle("has-error", msg !== "");
  });
});

// GOV.UK error summary: focused when the page loads, and each link moves focus to its field.
document.addEventListener("DOMContentLoaded", () => {
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  document.querySelectorAll("#error-summary a[href^='#']").forEach((a) => {
    a.addEventListener("click", (ev) => {
      const target = document.getElementById(a.getAttribute("href").slice(1));
      if (!target) return;
      ev.preventDefault();
      target.scrollIntoView({block: "center"});
      target.focus();
    });
  });
});
