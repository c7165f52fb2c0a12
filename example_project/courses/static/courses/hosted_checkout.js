/*
 * "Pay on Stripe's page": POST checkout/ (the server sets the price from the course, as for
 * create-payment) and send the browser to the Checkout Session's page. Stripe sends it back to
 * the course's "paid" page with ?session_id=…, or to this page when the student goes back.
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("checkout-config").textContent);
  var form = document.getElementById("hosted-checkout-form");
  var button = document.getElementById("hosted-checkout-button");
  var message = document.getElementById("hosted-checkout-message");
  var csrfToken = document.querySelector("[name=csrfmiddlewaretoken]").value;
  var idempotencyKey = "hosted-" + window.crypto.randomUUID();

  function show(text) {
    message.hidden = false;
    message.className = "message error";
    message.dataset.kind = "error";
    message.textContent = text;
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    fetch(config.checkoutUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: {"Content-Type": "application/json", "X-CSRFToken": csrfToken, "Idempotency-Key": idempotencyKey},
      body: JSON.stringify({
        metadata: {course: String(config.courseId)}, successUrl: config.successUrl, cancelUrl: config.returnUrl,
      }),
    })
      .then(function (response) {
        return response.json().then(function (body) { return {ok: response.ok, body: body}; });
      })
      .then(function (answer) {
        if (answer.ok && answer.body.url) {
          window.location.assign(answer.body.url);
          return;
        }
        var body = answer.body || {};
        show(body.detail || gettext("Stripe's page could not be opened. Try again."));
        button.disabled = false;
        idempotencyKey = "hosted-" + window.crypto.randomUUID();
      })
      .catch(function () {
        show(gettext("The server could not be reached. Try again."));
        button.disabled = false;
      });
  });
  button.disabled = false; // usable from now on: a click before this would submit the form to this page
})();
