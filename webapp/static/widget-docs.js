// The widget documentation page's copy buttons (a file of its own: the site's CSP forbids
// inline script). Without JavaScript the buttons stay hidden and the snippets are selectable.
"use strict";

document.querySelectorAll("button[data-copy]").forEach((button) => {
  const code = document.getElementById(button.dataset.copy);
  const status = button.nextElementSibling;
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(code.textContent);
      status.textContent = "Copied";
    } catch {
      // No clipboard access (a plain-http page, or permission refused): select the snippet so
      // Ctrl+C / Cmd+C copies it.
      getSelection().selectAllChildren(code);
      status.textContent = "Selected: press Ctrl+C to copy";
    }
    setTimeout(() => { status.textContent = ""; }, 3000);
  });
});
