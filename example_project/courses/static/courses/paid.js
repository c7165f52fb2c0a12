/*
 * Back from Stripe Checkout: the payment is the webhook's to move. Ask the package for the
 * payment (by its Checkout Session, ?session_id=cs_…) every second, behind a spinner, until it
 * has succeeded (the enrollment exists then: it is made in the same transaction) or failed.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("paid-config").textContent);
  var waiting = document.getElementById("waiting");
  var message = document.getElementById("paid-message");
  var tries = 0;

  function finish(text, kind, href, label) {
    waiting.hidden = true;
    message.hidden = false;
    message.className = "message " + kind;
    message.dataset.kind = kind;
    message.replaceChildren(document.createTextNode(text + " "));
    var link = document.createElement("a");
    link.href = href;
    link.textContent = label;
    message.appendChild(link);
  }

  function poll() {
    if (!config.paymentUrl) {
      finish(gettext("This page needs the payment's session_id."), "error", config.checkoutUrl, gettext("Back to the course"));
      return;
    }
    fetch(config.paymentUrl, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (payment) {
        var status = payment && payment.status;
        if (status === "succeeded") {
          finish(gettext("Payment succeeded.") + " " +
                 interpolate(gettext("You are now enrolled in %(course)s."), {course: config.courseTitle}, true),
                 "success", config.myCoursesUrl, gettext("Go to my courses"));
        } else if (status === "canceled" || status === "failed") {
          finish(gettext("The payment did not go through."), "error", config.checkoutUrl, gettext("Try again"));
        } else if (++tries < 120) {
          window.setTimeout(poll, 1000);
        } else {
          finish(gettext("Stripe has not confirmed the payment yet. It will appear in your courses once it does."), "info",
                 config.myCoursesUrl, gettext("Go to my courses"));
        }
      })
      .catch(function () { window.setTimeout(poll, 2000); });
  }

  poll();
})();
