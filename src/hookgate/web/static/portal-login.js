// The portal link carries its token in the fragment (#key=...), which the
// browser never sends to a server: exchange it for a session cookie, drop it
// from the address bar, and reload the page as a logged-in portal. Also on
// the portal's own pages, so that opening a new link (other capabilities,
// read-only) while a session is open switches to that link's session.
(function () {
  "use strict";
  var box = document.querySelector("[data-session-url]");
  if (!box) {
    return;
  }
  var invalid = document.getElementById("portal-invalid");
  var showInvalid = function () {
    if (!invalid) {
      return; // a logged-in page keeps its session
    }
    var opening = document.getElementById("portal-opening");
    if (opening) {
      opening.hidden = true;
    }
    invalid.hidden = false;
  };
  var exchange = function () {
    var key = new URLSearchParams(location.hash.slice(1)).get("key");
    if (location.hash) {
      history.replaceState(null, "", location.pathname + location.search);
    }
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
  };
  // A link pasted into the tab showing its own portal changes only the
  // fragment: no new page load, so listen for it.
  window.addEventListener("hashchange", exchange);
  exchange();
})();
