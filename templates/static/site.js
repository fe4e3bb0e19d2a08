// Progressive enhancements only: the page reads fine without them.
(function () {
  // Highlight the table-of-contents entry of the section being read.
  var links = Array.prototype.slice.call(document.querySelectorAll('.toc a[href^="#"]'));
  var byId = {};
  links.forEach(function (a) { byId[a.getAttribute('href').slice(1)] = a; });
  var observer = null;
  if ('IntersectionObserver' in window) {
    observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (!entry.isIntersecting) return;
        links.forEach(function (a) { a.classList.remove('active'); });
        var link = byId[entry.target.id];
        if (link) link.classList.add('active');
      });
    }, { rootMargin: '0px 0px -70% 0px' });
    Object.keys(byId).forEach(function (id) {
      var el = document.getElementById(id);
      if (el) observer.observe(el);
    });
  }

  // A copy button on every code listing, in a place of its own: the right end of the caption
  // row (or of a bar above the code of a folded listing), never over the code. A polite live
  // region says whether copying worked.
  function addCopyButtons(root) {
    if (!navigator.clipboard) return;
    root.querySelectorAll('.listing').forEach(function (listing) {
      var pre = listing.querySelector('.highlight pre');
      if (!pre) return;
      var button = document.createElement('button');
      button.className = 'copy';
      button.type = 'button';
      button.textContent = '复制';
      var status = document.createElement('span');
      status.className = 'visually-hidden';
      status.setAttribute('role', 'status');
      status.setAttribute('aria-live', 'polite');
      var row = listing.querySelector(':scope > figcaption');
      if (!row) {
        row = document.createElement('div');
        row.className = 'listing-bar';
        var box = pre.closest('.scroll-x') || pre;
        box.parentNode.insertBefore(row, box);
      }
      row.appendChild(button);
      row.appendChild(status);
      var timer;
      function say(text, label) {
        status.textContent = text;
        button.textContent = label;
        clearTimeout(timer);
        timer = setTimeout(function () { button.textContent = '复制'; status.textContent = ''; }, 2000);
      }
      button.addEventListener('click', function () {
        navigator.clipboard.writeText(pre.innerText).then(
          function () { say('代码已复制到剪贴板', '已复制'); },
          function () { say('复制失败，请手动选中代码复制', '复制失败'); });
      });
    });
  }
  addCopyButtons(document);

  // Scroll boxes are in the tab order (tabindex="0" in the markup) so the keyboard can scroll
  // them; where nothing overflows, the extra tab stop is taken out again. A box is measured only
  // once it comes near the screen: measuring them all at once would lay out the whole page before
  // the reader could scroll (and undo content-visibility, which skips sections far off screen).
  function updateTabStop(el) {
    var overflows = el.scrollWidth > el.clientWidth + 1 || el.scrollHeight > el.clientHeight + 1;
    if (overflows) el.setAttribute('tabindex', '0');
    else if (el !== document.activeElement) el.removeAttribute('tabindex');
  }
  var boxWatcher = null;
  if ('IntersectionObserver' in window) {
    var near = new Set(); // boxes within a screen of the viewport: measured again after a resize
    boxWatcher = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) { near.add(entry.target); updateTabStop(entry.target); }
        else near.delete(entry.target);
      });
    }, { rootMargin: '100% 0px' });
    document.querySelectorAll('.scroll-x, .equation, .log pre').forEach(function (el) { boxWatcher.observe(el); });
    var remeasure = function () { near.forEach(updateTabStop); };
    var resizeTimer;
    window.addEventListener('resize', function () { clearTimeout(resizeTimer); resizeTimer = setTimeout(remeasure, 200); });
    // The math font changes formulas' widths. (Not document.fonts.ready: reading it lays out the page.)
    if (document.fonts) document.fonts.addEventListener('loadingdone', remeasure);
  }

  // A link into the page (index.html#section) lands on its target, and stays there while the blocks
  // just above it, whose heights were guessed (content-visibility in style.css), are laid out.
  // Chromium and Firefox keep it in place themselves (scroll anchoring); Safari before 27 does not.
  var target = location.hash && document.getElementById(decodeURIComponent(location.hash.slice(1)));
  if (target && window.requestAnimationFrame) {
    var landed = null, stop = Date.now() + 2000, moved = false;
    ['wheel', 'touchstart', 'keydown', 'mousedown'].forEach(function (type) {
      window.addEventListener(type, function () { moved = true; }, { once: true, passive: true });
    });
    (function hold() {
      var top = target.getBoundingClientRect().top;
      if (landed === null) { if (top >= 0 && top < window.innerHeight / 2) landed = top; } // the browser has jumped
      else if (Math.abs(top - landed) > 1) window.scrollBy({ top: top - landed, behavior: 'instant' });
      if (!moved && Date.now() < stop) requestAnimationFrame(hold);
    })();
  }

  // Theme switch: 自动 / 浅色 / 深色, remembered. The choice is applied before the first paint by
  // the small script in <head>, and the switch is in the markup; this makes its buttons work.
  var group = document.querySelector('.theme-switch');
  if (group) {
    var root = document.documentElement;
    var stored = null;
    try { stored = localStorage.getItem('theme'); } catch (e) { /* storage off: choice lasts this page */ }
    var buttons = Array.prototype.slice.call(group.querySelectorAll('button'));
    function apply(theme, remember) {
      if (theme === 'light' || theme === 'dark') root.dataset.theme = theme;
      else delete root.dataset.theme;
      buttons.forEach(function (b) { b.setAttribute('aria-pressed', String(b.dataset.theme === theme)); });
      if (remember) {
        try { if (theme === 'auto') localStorage.removeItem('theme'); else localStorage.setItem('theme', theme); }
        catch (e) { /* not remembered */ }
      }
    }
    buttons.forEach(function (b) { b.addEventListener('click', function () { apply(b.dataset.theme, true); }); });
    apply(stored === 'light' || stored === 'dark' ? stored : 'auto', false);
  }

  // The contents: open beside the text on a wide screen; on a phone folded, opened by the corner
  // button (目录) and folded again once the reader has picked a section.
  var contents = document.querySelector('.toc-details');
  var wide = window.matchMedia('(min-width: 960px)');
  if (contents) {
    wide.addEventListener('change', function () { contents.open = wide.matches; });
    contents.addEventListener('click', function (event) {
      if (!wide.matches && event.target.closest('a')) contents.open = false;
    });
    var button = document.querySelector('.to-toc');
    if (button) button.addEventListener('click', function () { contents.open = true; });
  }

  // build.py --serve swaps a section it rebuilt in place of the old one (report/preview.js) and
  // says so with this event: the new section gets what the page's other sections got at load.
  document.addEventListener('site:replaced', function (event) {
    var section = event.target;
    if (observer) {
      [section].concat(Array.prototype.slice.call(section.querySelectorAll('[id]'))).forEach(function (el) {
        if (byId[el.id]) observer.observe(el);
      });
    }
    addCopyButtons(section);
    if (boxWatcher) section.querySelectorAll('.scroll-x, .equation, .log pre').forEach(function (el) { boxWatcher.observe(el); });
  });
})();
