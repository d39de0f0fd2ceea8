/* Behaviour that used to sit in inline attributes (the CSP allows no inline script). */
(function () {
  "use strict";
  // <form data-confirm="…">: ask before submitting (删除 / 撤回 buttons).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form && form.getAttribute && form.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }, true);
})();
