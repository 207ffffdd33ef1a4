// The console's only script of its own (served from here; the CSP allows no inline script).
// Copy buttons: <button data-copy="ID"> copies the text of #ID. Delegated, so it also works for
// content Blazor renders later (interactive pages).
document.addEventListener('click', async (event) => {
  const button = event.target instanceof Element ? event.target.closest('[data-copy]') : null;
  if (!button) return;
  const source = document.getElementById(button.getAttribute('data-copy'));
  if (!source) return;
  const text = source.textContent.trim();
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    // No clipboard permission (plain http on another host): select the text for Ctrl+C.
    const range = document.createRange();
    range.selectNodeContents(source);
    const selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }
  button.dataset.state = 'copied';
  const label = button.textContent;
  button.textContent = button.getAttribute('data-copied') || label;
  setTimeout(() => { button.textContent = label; delete button.dataset.state; }, 2000);
});
