// GOV.UK error summary: when a form comes back with errors, move focus to the summary at the top,
// so a screen reader reads it and the page scrolls to it (at 360 px the first field with an error
// may be far below). Each link in it leads to its field.
(function () {
  var summary = document.getElementById("error-summary");
  if (summary) summary.focus();
})();
