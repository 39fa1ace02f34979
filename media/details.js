// Agent Warden details panel: forwards button clicks to the extension. Loaded with a CSP nonce; no inline code.
(function () {
  const vscode = acquireVsCodeApi();
  document.addEventListener('click', (ev) => {
    const el = ev.target instanceof Element ? ev.target.closest('button[data-action]') : null;
    if (!el || el.hasAttribute('disabled')) return;
    vscode.postMessage({ action: el.getAttribute('data-action') });
  });
})();
