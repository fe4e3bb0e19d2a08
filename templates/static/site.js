// Progressive enhancements only: the page reads fine without them.
(function () {
  // Highlight the table-of-contents entry of the section being read.
  var links = Array.prototype.slice.call(document.querySelectorAll('.toc a[href^="#"]'));
  var byId = {};
  links.forEach(function (a) { byId[a.getAttribute('href').slice(1)] = a; });
  if ('IntersectionObserver' in window) {
    var observer = new IntersectionObserver(function (entries) {
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
  // A copy button on every code listing.
  if (navigator.clipboard) {
    document.querySelectorAll('.highlight').forEach(function (block) {
      var button = document.createElement('button');
      button.className = 'copy';
      button.type = 'button';
      button.textContent = '复制';
      button.addEventListener('click', function () {
        navigator.clipboard.writeText(block.querySelector('pre').innerText).then(function () {
          button.textContent = '复制成功';
          setTimeout(function () { button.textContent = '复制'; }, 1500);
        });
      });
      block.appendChild(button);
    });
  }
})();
