// Check-in without reloading the page: the forms still work as plain POSTs without JavaScript.
(() => {
  const counter = document.getElementById("checkin-count");
  const post = async (form) => {
    const response = await fetch(form.action, {
      method: "POST", body: new FormData(form), headers: { Accept: "application/json" }, credentials: "same-origin",
    });
    if (!response.ok) throw new Error(String(response.status));
    return response.json();
  };
  document.addEventListener("submit", async (event) => {
    const form = event.target;
    if (!form.matches("form[data-checkin]")) return;
    event.preventDefault();
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const result = await post(form);
      if (counter) counter.textContent = result.count;
      const badge = document.createElement("span");
      badge.className = "badge text-bg-success";
      badge.textContent = button.dataset.done || "✓";
      form.replaceWith(badge);
    } catch (error) {
      form.submit();  // fall back to the plain form, which shows the server's message
    }
  });
})();
