// Sends a form marked data-autosubmit as soon as the page has loaded (logout at the e-ID
// provider). Only an enhancement: without JavaScript the form's button does the same.
(function () {
  var form = document.querySelector("form[data-autosubmit]");
  if (form) form.submit();
})();
