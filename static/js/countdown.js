// Shows the minutes and seconds left on a reserved time. Without it the page says until when the
// time is reserved, and the server refuses a confirmation after that. At zero the page stops
// saying "reserved" and the confirm button is disabled, so nobody fills in a form that cannot
// succeed. Screen readers hear it once a minute, not every second.
(function () {
  var box = document.getElementById("countdown");
  if (!box) return;
  var live = box.querySelector(".countdown-live");
  var text = box.querySelector(".countdown-text");
  var left = parseInt(box.getAttribute("data-seconds"), 10);
  var sv = document.documentElement.lang === "sv";
  var visual = document.createElement("span");
  visual.setAttribute("aria-hidden", "true");
  visual.className = "countdown-clock";
  box.appendChild(visual);
  function expire() {
    clearInterval(timer);
    visual.textContent = "";
    if (text) text.textContent = "";
    box.className = "warning countdown-expired";
    live.textContent = box.getAttribute("data-expired");
    var button = document.getElementById("confirm-button");
    if (button) {
      button.disabled = true;
      button.setAttribute("aria-disabled", "true");
    }
  }
  function render() {
    if (left <= 0) {
      expire();
      return;
    }
    var m = Math.floor(left / 60), s = left % 60;
    visual.textContent = " " + m + ":" + (s < 10 ? "0" : "") + s;
    if (s === 0) {
      live.textContent = sv ? m + " minuter kvar." : m + " minutes left.";
    }
    left -= 1;
  }
  var timer = setInterval(render, 1000);
  render();
})();
