// R-SEC-5: warns a few minutes before an idle session ends and offers to stay logged in. Only an
// enhancement: the server ends the session on time without it. Before warning or leaving, it asks the
// server how long is left, since activity in another tab keeps the same session alive.
(function () {
  "use strict";
  var dialog = document.getElementById("session-timeout");
  if (!dialog || typeof dialog.showModal !== "function" || !window.fetch) return;
  var warningMs = parseInt(dialog.getAttribute("data-warning-seconds"), 10) * 1000;
  var statusUrl = dialog.getAttribute("data-status-url");
  var keepAliveUrl = dialog.getAttribute("data-keep-alive-url");
  var expiredUrl = dialog.getAttribute("data-expired-url");
  var timeBox = dialog.querySelector(".session-timeout__time");
  var stay = dialog.querySelector(".session-timeout__stay");
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");
  var deadline = 0;
  var timer = null;

  function setSecondsLeft(seconds) {
    deadline = Date.now() + seconds * 1000;
    if (dialog.open && seconds * 1000 > warningMs) dialog.close();
    schedule();
  }

  function schedule() {
    clearTimeout(timer);
    var left = deadline - Date.now();
    if (left <= 0) {
      leave();
    } else if (left > warningMs) {
      timer = setTimeout(check, left - warningMs);
    } else {
      warn();
      timer = setTimeout(check, left);
    }
  }

  function check() {
    fetch(statusUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        return response.ok ? response.json() : { seconds_left: 0 };
      })
      .then(function (data) {
        setSecondsLeft(data.seconds_left);
      })
      .catch(schedule); // offline: go by this page's own clock
  }

  function warn() {
    var lang = document.documentElement.lang || undefined;
    timeBox.textContent = new Date(deadline).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" });
    if (!dialog.open) dialog.showModal();
  }

  function keepAlive() {
    fetch(keepAliveUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json", "X-CSRFToken": csrf ? csrf.value : "" },
    })
      .then(function (response) {
        return response.ok ? response.json() : { seconds_left: 0 };
      })
      .then(function (data) {
        setSecondsLeft(data.seconds_left);
      })
      .catch(schedule);
  }

  // The session has ended: load the page again, and the server says so and asks for a new login.
  function leave() {
    window.location.assign(expiredUrl);
  }

  stay.addEventListener("click", keepAlive);
  // Escape closes the dialog; like the button, it means "I am still here".
  dialog.addEventListener("cancel", function (event) {
    event.preventDefault();
    keepAlive();
  });
  setSecondsLeft(parseInt(dialog.getAttribute("data-seconds-left"), 10));
})();
