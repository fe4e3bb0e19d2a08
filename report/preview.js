// build.py --serve: injected into the pages it serves, never written into site/.
// Listens to the server's events: a new build swaps the sections it changed into the page (or
// reloads the tab when more than sections changed), a failing one shows its error over the last
// good page, and a corner note says while the page or the PDF is being rebuilt.
(function () {
  var served = "__PREVIEW_VERSION__";  // the build this page shows
  var source = new EventSource("/__preview/events");
  var panel = null, note = null, latest = null, patching = false, reloading = false;

  source.addEventListener("state", function (event) {
    latest = JSON.parse(event.data);
    catchUp();
    if (reloading) return;
    showError(latest.error);
    showStatus(latest.status);
  });

  // A reload lays out 11,000 elements and loses the place; after a prose edit only a section or
  // two differ (report/preview_patch.py says which, for a tab on the version before): fetch the
  // page and swap those in, then tell site.js to enhance them like the rest. Anything else reloads.
  function catchUp() {
    if (patching || reloading || latest.version === served) return;
    var wanted = latest.version, patch = latest.patch;
    var sections = patch && patch.from === served ? patch.pages[location.pathname.split("/").pop() || "index.html"] : null;
    if (!sections) { reload(); return; }
    if (!sections.length) { served = wanted; return; }  // this page did not change
    patching = true;
    fetch(location.pathname, { cache: "no-store" }).then(function (response) {
      if (!response.ok || response.headers.get("X-Preview-Version") !== wanted) throw new Error("not the version wanted");
      return response.text();
    }).then(function (html) {
      var fresh = new DOMParser().parseFromString(html, "text/html");
      var pairs = sections.map(function (id) { return [document.getElementById(id), fresh.getElementById(id)]; });
      if (pairs.some(function (pair) { return !pair[0] || !pair[1]; })) throw new Error("a section is missing");
      pairs.forEach(function (pair) {
        var section = document.importNode(pair[1], true);
        pair[0].replaceWith(section);
        section.dispatchEvent(new CustomEvent("site:replaced", { bubbles: true }));
      });
      served = wanted;
      patching = false;
      catchUp();  // a newer version may have come meanwhile
    }).catch(reload);
  }

  function reload() {
    reloading = true;
    source.close();
    location.reload();
  }

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
