// Inline validation of data-entry forms: on each change, the form is checked by the server (nothing is
// saved) and the message of each item is shown beside it. Pages work without JavaScript too.
document.addEventListener("change", async (ev) => {
  const form = ev.target.closest("form[data-validate-url]");
  if (!form) return;
  const res = await fetch(form.dataset.validateUrl, {method: "POST", body: new FormData(form),
                                                     credentials: "same-origin"});
  if (!res.ok) return;
  const data = await res.json();
  form.querySelectorAll(".field-error").forEach((el) => {
    const msg = (data.issues || {})[el.dataset.for] || "";
    el.textContent = msg;
    el.parentElement.classList.toggle("has-error", msg !== "");
  });
});
