// sluice console: the little the pages need from a script. Everything
// works without it; it adds line numbers that follow the policy editor and
// jumps from a diagnostic to its line and column.
'use strict';
(function () {
  var text = document.getElementById('policy-text');
  var gutter = document.getElementById('gutter');
  function renumber() {
    var n = text.value.split('\n').length;
    var out = [];
    for (var i = 1; i <= n; i++) out.push(i);
    gutter.textContent = out.join('\n') + '\n';
    gutter.scrollTop = text.scrollTop;
  }
  function jump(line, col) {
    var lines = text.value.split('\n');
    var pos = 0;
    for (var i = 0; i < line - 1 && i < lines.length; i++) pos += lines[i].length + 1;
    pos += Math.max(0, col - 1);
    text.focus();
    text.setSelectionRange(pos, pos + 1);
    var lh = text.scrollHeight / Math.max(1, lines.length);
    text.scrollTop = Math.max(0, (line - 3) * lh);
    gutter.scrollTop = text.scrollTop;
  }
  if (text && gutter) {
    text.addEventListener('input', renumber);
    text.addEventListener('scroll', function () { gutter.scrollTop = text.scrollTop; });
    renumber();
    var diags = document.querySelectorAll('li.diag');
    Array.prototype.forEach.call(diags, function (li) {
      li.addEventListener('click', function (ev) {
        ev.preventDefault();
        jump(parseInt(li.dataset.line, 10), parseInt(li.dataset.col, 10));
      });
    });
  }
})();
