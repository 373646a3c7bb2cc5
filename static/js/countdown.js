// Shows the minutes and seconds left on a reserved time. Only an enhancement: the page says
// until when the time is reserved without it. Screen readers hear it once a minute, not every second.
(function () {
  var box = document.getElementById("countdown");
  if (!box) return;
  var live = box.querySelector(".countdown-live");
  var left = parseInt(box.getAttribute("data-seconds"), 10);
  var sv = document.documentElement.lang === "sv";
  var visual = document.createElement("span");
  visual.setAttribute("aria-hidden", "true");
  visual.className = "countdown-clock";
  box.appendChild(visual);
  function render() {
    var m = Math.floor(left / 60), s = left % 60;
    visual.textContent = " " + m + ":" + (s < 10 ? "0" : "") + s;
    if (left > 0 && s === 0) {
      live.textContent = sv ? m + " minuter kvar." : m + " minutes left.";
    }
    if (left <= 0) {
      live.textContent = sv ? "Reservationen har gått ut. Välj en tid igen." : "The reservation has expired. Choose a time again.";
      clearInterval(timer);
    }
    left -= 1;
  }
  var timer = setInterval(render, 1000);
  render();
})();
