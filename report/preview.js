// build.py --serve: injected into the pages it serves, never written into site/.
// Listens to the server's events: a new build reloads the tab, a failing one shows its error
// over the last good page, and a corner note says while the page or the PDF is being rebuilt.
(function () {
  var served = "__PREVIEW_VERSION__";  // the build this page came from
  var source = new EventSource("/__preview/events");
  var panel = null, note = null;

  source.addEventListener("state", function (event) {
    var state = JSON.parse(event.data);
    if (state.version !== served) {
      source.close();
      location.reload();
      return;
    }
    showError(state.error);
    showStatus(state.status);
  });

  function element(tag, style, text) {
    var el = document.createElement(tag);
    el.setAttribute("style", style);
    if (text) el.textContent = text;
    return el;
  }

  function showError(error) {
    if (panel) { panel.remove(); panel = null; }
    if (!error) return;
    panel = element("div", "position:fixed;inset:0;z-index:2147483647;overflow:auto;margin:0;padding:24px;" +
      "background:rgba(24,24,27,0.97);color:#fafafa;font:15px/1.6 system-ui,sans-serif;box-sizing:border-box");
    panel.id = "preview-error";
    panel.setAttribute("role", "alert");
    var box = element("div", "max-width:960px;margin:0 auto");
    box.appendChild(element("p", "margin:0 0 4px;color:#fca5a5;font-weight:700;letter-spacing:.05em",
      "构建失败 · build failed"));
    box.appendChild(element("h1", "margin:0 0 12px;font-size:17px;line-height:1.5;color:#fff;" +
      "font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word", error.title));
    box.appendChild(element("p", "margin:0 0 12px;color:#d4d4d8",
      "页面仍是上一次成功的构建；修正并保存文件后会自动刷新。The server keeps the last good site."));
    if (error.text) {
      box.appendChild(element("pre", "margin:0;padding:12px;overflow:auto;background:#09090b;color:#e4e4e7;" +
        "border-left:4px solid #f87171;font:13px/1.5 ui-monospace,monospace;white-space:pre-wrap", error.text));
    }
    panel.appendChild(box);
    document.body.appendChild(panel);
  }

  function showStatus(status) {
    var text = status === "building" ? "正在重新构建…" : status === "pdf" ? "页面已更新，PDF 生成中…" : "";
    if (!text) { if (note) { note.remove(); note = null; } return; }
    if (!note) {
      // bottom left: the site's own 目录 button sits bottom right on a phone
      note = element("div", "position:fixed;left:12px;bottom:12px;z-index:2147483646;padding:4px 10px;" +
        "border-radius:4px;background:#18181b;color:#fafafa;font:13px/1.5 system-ui,sans-serif;opacity:.85;" +
        "pointer-events:none");
      note.id = "preview-status";
      note.setAttribute("role", "status");
      document.body.appendChild(note);
    }
    note.textContent = text;
  }
})();
