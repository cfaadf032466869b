// Drag a card to another column of the pipeline board to move the person. Each card keeps its
// own small move form (for keyboards, phones and no JavaScript); a drop fills in that form and
// sends it, so the server sees the same POST either way.
(() => {
  const board = document.querySelector("[data-board]");
  if (!board || !("draggable" in document.createElement("div"))) return;
  let dragged = null;
  board.addEventListener("dragstart", (event) => {
    dragged = event.target.closest(".pipeline-card");
    if (dragged) event.dataTransfer.setData("text/plain", dragged.dataset.personId);
  });
  board.addEventListener("dragover", (event) => {
    const column = event.target.closest(".pipeline-column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.add("drop-target");
  });
  board.addEventListener("dragleave", (event) => {
    const column = event.target.closest(".pipeline-column");
    if (column && !column.contains(event.relatedTarget)) column.classList.remove("drop-target");
  });
  board.addEventListener("drop", (event) => {
    const column = event.target.closest(".pipeline-column");
    if (!column || !dragged) return;
    event.preventDefault();
    column.classList.remove("drop-target");
    const form = dragged.querySelector(".move-form");
    const select = form.querySelector("select[name=stage_id]");
    if (select.value === column.dataset.stageId) return;
    select.value = column.dataset.stageId;
    form.submit();
  });
})();
