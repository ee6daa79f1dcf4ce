// labelhub: small progressive enhancements. No inline handlers (CSP: script-src 'self').
(function () {
  "use strict";

  // <button data-copy-target="#id">: copy the target input's value to the clipboard.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.querySelector(button.getAttribute("data-copy-target"));
    if (!input) return;
    input.focus();
    input.select();
    var done = function () {
      var label = button.textContent;
      button.textContent = "Copied";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {});
    } else if (document.execCommand && document.execCommand("copy")) {
      done();
    }
  });

  // <input data-select-on-focus>: select the whole value, ready for Ctrl+C.
  document.addEventListener("focusin", function (event) {
    if (event.target.matches && event.target.matches("[data-select-on-focus]")) {
      event.target.select();
    }
  });
})();
