// The top bar's search box suggests people, institutions, campaigns and actions as you type.
// Without JavaScript the box still submits to the search page; with it, a short pause after
// each key asks the server (which applies the access rules) and lists what it answered.
(() => {
  const form = document.querySelector("form[data-suggest]");
  if (!form) return;
  const input = form.querySelector("input[name=q]");
  const list = form.querySelector("[role=listbox]");
  let timer = null;
  let asked = 0;
  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
  };
  const show = (results) => {
    list.replaceChildren();
    for (const hit of results) {
      const link = document.createElement("a");
      link.href = hit.url;
      link.className = "list-group-item list-group-item-action py-1";
      link.setAttribute("role", "option");
      link.dataset.kind = hit.kind;
      const label = document.createElement("span");
      label.textContent = hit.label;
      const kind = document.createElement("small");
      kind.className = "text-muted ms-2";
      kind.textContent = form.dataset[`kind${hit.kind[0].toUpperCase()}${hit.kind.slice(1)}`] || "";
      link.append(label, kind);
      list.append(link);
    }
    const all = document.createElement("a");
    all.href = `${form.action}?q=${encodeURIComponent(input.value)}`;
    all.className = "list-group-item list-group-item-action py-1 fw-semibold";
    all.textContent = form.dataset.seeAll || "…";
    list.append(all);
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
  };
  const ask = async () => {
    const q = input.value.trim();
    if (q.length < 2) {
      close();
      return;
    }
    const mine = ++asked;
    try {
      const response = await fetch(`${form.dataset.suggest}?q=${encodeURIComponent(q)}`, {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!response.ok || mine !== asked) return; // a later key already asked again
      show((await response.json()).results);
    } catch (error) {
      // offline for a moment: the form still submits to the search page
    }
  };
  input.addEventListener("input", () => {
    window.clearTimeout(timer);
    timer = window.setTimeout(ask, 200);
  });
  input.addEventListener("keydown", (event) => {
    const options = [...list.querySelectorAll("a")];
    if (event.key === "Escape") close();
    if (event.key === "ArrowDown" && options.length) {
      event.preventDefault();
      options[0].focus();
    }
  });
  list.addEventListener("keydown", (event) => {
    const options = [...list.querySelectorAll("a")];
    const at = options.indexOf(document.activeElement);
    if (event.key === "ArrowDown" && at < options.length - 1) {
      event.preventDefault();
      options[at + 1].focus();
    } else if (event.key === "ArrowUp") {
      event.preventDefault();
      (at > 0 ? options[at - 1] : input).focus();
    } else if (event.key === "Escape") {
      close();
      input.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!form.contains(event.target)) close();
  });
})();
