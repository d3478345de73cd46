// The portal link carries its token in the fragment (#key=...), which the
// browser never sends to a server: exchange it for a session cookie, drop it
// from the address bar, and reload the page as a logged-in portal.
(function () {
  "use strict";
  var box = document.getElementById("portal-login");
  var invalid = document.getElementById("portal-invalid");
  if (!box || !invalid) {
    return; // the "logged out" page: nothing to exchange
  }
  var showInvalid = function () {
    var opening = document.getElementById("portal-opening");
    if (opening) {
      opening.hidden = true;
    }
    invalid.hidden = false;
  };
  var key = new URLSearchParams(location.hash.slice(1)).get("key");
  history.replaceState(null, "", location.pathname + location.search);
  if (!key) {
    showInvalid();
    return;
  }
  fetch(box.dataset.sessionUrl, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ token: key }),
  })
    .then(function (answer) {
      if (answer.status === 204) {
        location.reload();
      } else {
        showInvalid();
      }
    })
    .catch(showInvalid);
})();
