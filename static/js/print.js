// A button that opens the browser's print dialog (the sheet prints with its own stylesheet).
document.querySelectorAll("[data-print]").forEach((button) => button.addEventListener("click", () => window.print()));
