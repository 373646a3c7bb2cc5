// The local admin's pages, enhanced. Everything here is also said or enforced by the server without
// JavaScript: "hidden for patient" clearing the web flags (R-TYPE-2), the 300-character info text
// (R-TYPE-1), the visibility window (R-VIS-1). Texts come from data attributes so they are translated.
(function () {
  "use strict";

  function format(template, values) {
    return template.replace(/\{(\w+)\}/g, function (match, key) {
      return Object.prototype.hasOwnProperty.call(values, key) ? String(values[key]) : match;
    });
  }

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    };
  }

  // R-TYPE-2: ticking "hidden for patient" clears the three web flags and locks them.
  var hidden = document.querySelector("input[data-hidden-flag]");
  if (hidden) {
    var flags = document.querySelectorAll("input[data-web-flag]");
    var applyHidden = function () {
      for (var i = 0; i < flags.length; i++) {
        if (hidden.checked) flags[i].checked = false;
        flags[i].disabled = hidden.checked;
      }
    };
    hidden.addEventListener("change", applyHidden);
    applyHidden();
  }

  // R-TYPE-1: characters used of 300; screen readers hear it once typing pauses.
  var info = document.querySelector("textarea[data-counter-max]");
  var count = document.getElementById("web_info-count");
  var live = document.getElementById("web_info-live");
  if (info && count) {
    var max = parseInt(info.getAttribute("data-counter-max"), 10);
    var counterText = function () {
      var used = info.value.trim().length;
      if (used <= max) return format(count.getAttribute("data-template"), { count: used, max: max });
      var over = used - max;
      return over === 1
        ? count.getAttribute("data-over-one")
        : format(count.getAttribute("data-over-many"), { over: over });
    };
    var announce = debounce(function () {
      if (live) live.textContent = counterText();
    }, 800);
    var updateCount = function () {
      count.textContent = counterText();
      count.classList.toggle("error", info.value.trim().length > max);
      announce();
    };
    info.addEventListener("input", updateCount);
    count.textContent = counterText();
    count.classList.toggle("error", info.value.trim().length > max);
  }

  // R-VIS-1: N days shows times up to and including today + N - 1; empty means the standard window.
  var days = document.getElementById("visibility_days");
  var explanation = document.getElementById("visibility_days-explanation");
  if (days && explanation && days.getAttribute("data-today")) {
    var parts = days.getAttribute("data-today").split("-");
    var today = Date.UTC(+parts[0], +parts[1] - 1, +parts[2]);
    var defaultDays = parseInt(days.getAttribute("data-default-days"), 10);
    var lang = document.documentElement.lang || "sv";
    var dateFormat = new Intl.DateTimeFormat(lang === "en" ? "en-GB" : lang, {
      weekday: "long",
      day: "numeric",
      month: "long",
      year: "numeric",
      timeZone: "UTC",
    });
    var updateExplanation = debounce(function () {
      var raw = days.value.trim();
      var n = raw === "" ? defaultDays : /^\d+$/.test(raw) ? parseInt(raw, 10) : NaN;
      if (isNaN(n) || (raw !== "" && (n < 1 || n > 365))) {
        explanation.textContent = explanation.getAttribute("data-invalid");
        return;
      }
      var last = new Date(today + (n - 1) * 86400000);
      explanation.textContent = format(explanation.getAttribute("data-template"), { date: dateFormat.format(last) });
    }, 300);
    days.addEventListener("input", updateExplanation);
  }

  // Direct links: a copy button beside each address (the address can always be selected by hand).
  var list = document.getElementById("link-list");
  var status = document.getElementById("copy-status");
  if (list) {
    var sources = list.querySelectorAll("input[data-copy-source]");
    for (var j = 0; j < sources.length; j++) {
      (function (input) {
        var button = document.createElement("button");
        button.type = "button";
        button.className = "secondary";
        button.textContent = list.getAttribute("data-copy-label");
        button.setAttribute("aria-describedby", input.id);
        input.parentNode.appendChild(button);
        button.addEventListener("click", function () {
          var done = function () {
            if (status) status.textContent = list.getAttribute("data-copied");
          };
          var failed = function () {
            input.select();
            if (status) status.textContent = list.getAttribute("data-copy-failed");
          };
          if (navigator.clipboard && window.isSecureContext) {
            navigator.clipboard.writeText(input.value).then(done, failed);
          } else {
            failed();
          }
        });
      })(sources[j]);
    }
  }
})();
