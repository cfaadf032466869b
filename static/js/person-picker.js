// The user form's person picker: type a name, choose the person from the list (the server's
// search, with its access rules), and the hidden person_id carries the choice. Typing again
// drops the choice; an empty box unlinks. Without JavaScript the typed name is looked up on save.
(() => {
  const box = document.querySelector("[data-person-picker]");
  if (!box) return;
  const hidden = box.querySelector("input[type=hidden]");
  const input = box.querySelector("input[type=search]");
  const list = box.querySelector("[role=listbox]");
  let timer = null;
  let asked = 0;
  const close = () => {
    list.hidden = true;
    list.replaceChildren();
    input.setAttribute("aria-expanded", "false");
  };
  const choose = (hit) => {
    hidden.value = String(hit.id);
    input.value = hit.label;
    close();
  };
  const ask = async () => {
    const q = input.value.trim();
    if (q.length < 2) return close();
    const mine = ++asked;
    const response = await fetch(`${box.dataset.suggestUrl}?q=${encodeURIComponent(q)}`,
                                 {headers: {Accept: "application/json"}});
    if (!response.ok || mine !== asked) return;
    const people = (await response.json()).results.filter((hit) => hit.kind === "people");
    list.replaceChildren(...people.map((hit) => {
      const option = document.createElement("button");
      option.type = "button";
      option.className = "list-group-item list-group-item-action";
      option.setAttribute("role", "option");
      option.textContent = hit.label;
      option.addEventListener("click", () => choose(hit));
      return option;
    }));
    list.hidden = people.length === 0;
    input.setAttribute("aria-expanded", String(people.length > 0));
  };
  input.addEventListener("input", () => {
    hidden.value = "";
    clearTimeout(timer);
    timer = setTimeout(ask, 200);
  });
  input.addEventListener("keydown", (event) => { if (event.key === "Escape") close(); });
  document.addEventListener("click", (event) => { if (!box.contains(event.target)) close(); });
})();
