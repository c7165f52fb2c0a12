/*
 * The checkout, following ApraNova's payment flow:
 *   1. POST create-payment (the server sets the price from the course),
 *   2. confirm the payment (Stripe.js' Payment Element, or the offline simulator),
 *   3. POST update-status (the server asks Stripe; the browser's word is never used),
 *   4. show success or the error.
 * A declined or unauthenticated payment is retried on the same PaymentIntent.
 *
 * A saved card ("Use my saved Visa •••• 4242") is one click: create-payment with its
 * paymentMethod, then confirmCardPayment with the client secret alone (3-D Secure still opens
 * when the bank asks). "Save this card for next time" sends savePaymentMethod.
 *
 * A free course (config.free) has no card form: its one button asks create-payment, which
 * answers a succeeded free payment with clientSecret null, so there is nothing to confirm.
 *
 * Each error is shown once: the card form (Stripe's Payment Element, or the simulator's)
 * shows what is wrong with a field next to it, and the status line below the button shows
 * what happened to the payment (declined, failed authentication, a server error).
 */
(function () {
  "use strict";

  var config = JSON.parse(document.getElementById("checkout-config").textContent);
  var form = document.getElementById("payment-form");
  var button = document.getElementById("pay-button");
  var message = document.getElementById("payment-message");
  var csrfToken = form.querySelector("[name=csrfmiddlewaretoken]").value;
  var idempotencyKey = newKey();
  var intent = null; // {id, clientSecret} once created

  var provider = null;
  var elements = null;
  if (!config.free) {
    provider = config.mode === "stripe" ? window.Stripe(config.publishableKey) : window.ApranovaSimulator();
    elements = config.mode === "stripe"
      ? provider.elements({mode: "payment", amount: config.amountMinor, currency: config.currency})
      : provider.elements();
    elements.create("payment").mount("#payment-element");
  }

  function newKey() {
    if (window.crypto && window.crypto.randomUUID) return "checkout-" + window.crypto.randomUUID();
    var bytes = window.crypto.getRandomValues(new Uint8Array(16));
    return "checkout-" + Array.prototype.map.call(bytes, function (b) { return b.toString(16).padStart(2, "0"); }).join("");
  }

  function show(text, kind) {
    message.hidden = !text;
    message.className = "message " + (kind || "info");
    message.dataset.kind = kind || "info";
    message.replaceChildren(document.createTextNode(text || ""));
  }

  // The paid (or free) state replaces the form: no card fields, no button, no test-card advice.
  function showSuccess(free) {
    show((free ? "" : "Payment succeeded. ") + "You are now enrolled in " + config.courseTitle + ". ", "success");
    var link = document.createElement("a");
    link.href = config.myCoursesUrl;
    link.textContent = "Go to my courses";
    message.appendChild(link);
    var element = form.querySelector("#payment-element");
    if (element) element.remove();
    button.remove();
    ["mode-note", "saved-cards"].forEach(function (id) {
      var node = document.getElementById(id);
      if (node) node.remove();
    });
    var saveCard = form.querySelector(".save-card");
    if (saveCard) saveCard.remove();
  }

  // An error about a field (a card number that is not one, say) is the card form's to show.
  function isFieldError(error) {
    return Boolean(error && (error.type === "validation_error" || error.param));
  }

  async function post(url, body, headers) {
    var response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: Object.assign({"Content-Type": "application/json", "X-CSRFToken": csrfToken}, headers || {}),
      body: JSON.stringify(body)
    });
    var data = null;
    try { data = await response.json(); } catch (e) { /* an HTML error page */ }
    return {ok: response.ok, status: response.status, body: data || {}};
  }

  function apiError(response) {
    var body = response.body;
    if (response.status === 401 || response.status === 403) return "Please log in again, then retry.";
    if (typeof body.detail === "string") return body.detail;
    return firstMessage(body) || "The payment could not be started. Please try again.";
  }

  // DRF's field errors: {"field": ["message"]}, or nested: {"metadata": {"course": ["message"]}}.
  function firstMessage(errors) {
    for (var key in errors) {
      var value = errors[key];
      if (Array.isArray(value) && value.length) return String(value[0]);
      if (value && typeof value === "object") {
        var nested = firstMessage(value);
        if (nested) return nested;
      }
    }
    return null;
  }

  async function updateStatus(paymentIntent) {
    var response = await post(config.updateUrl, {paymentIntent: paymentIntent});
    return response.ok ? response.body : null;
  }

  function render(payment, error, free) {
    var status = payment ? payment.status : null;
    form.dataset.status = status || "unknown";
    if (status === "succeeded") return showSuccess(free);
    if (status === "processing") return show("Your payment is processing. You will be enrolled as soon as it completes.", "info");
    if (status === "canceled") {
      intent = null; // Stripe never reopens a canceled PaymentIntent: the next try is a new payment
      idempotencyKey = newKey();
      return show("This payment was canceled. You can pay again.", "error");
    }
    if (isFieldError(error) && status !== "failed") return show("");
    var text = (error && error.message) || (payment && payment.failureMessage) ||
      (status === "failed" ? "Your payment was declined." : "The payment was not completed. You can try again.");
    show(text, "error");
  }

  async function pay() {
    if (elements) {
      var submitted = await elements.submit();
      if (submitted.error) return show(isFieldError(submitted.error) ? "" : submitted.error.message, "error");
    }
    if (!intent) {
      var saveBox = document.getElementById("save-card");
      var body = {metadata: {course: String(config.courseId)}};
      if (saveBox && saveBox.checked) body.savePaymentMethod = true;
      var created = await post(config.createUrl, body, {"Idempotency-Key": idempotencyKey});
      if (!created.ok) return show(apiError(created), "error");
      // A free payment: stored as succeeded, the enrollment made, nothing to confirm.
      if (created.body.clientSecret === null) return render(created.body, null, true);
      if (!elements) return show("This course is no longer free. Reload the page to pay for it.", "error");
      intent = {id: created.body.paymentIntent, clientSecret: created.body.clientSecret};
    }
    var result = await provider.confirmPayment({
      elements: elements,
      clientSecret: intent.clientSecret,
      confirmParams: {return_url: config.returnUrl},
      redirect: "if_required"
    });
    render(await updateStatus(intent.id), result.error);
  }

  async function payWithSavedCard(paymentMethod) {
    var created = await post(config.createUrl, {metadata: {course: String(config.courseId)}, paymentMethod: paymentMethod},
      {"Idempotency-Key": newKey()});
    if (!created.ok) return show(apiError(created), "error");
    var result = await provider.confirmCardPayment(created.body.clientSecret);
    render(await updateStatus(created.body.paymentIntent), result.error);
  }

  document.querySelectorAll("button.saved-card").forEach(function (savedButton) {
    savedButton.addEventListener("click", function () {
      savedButton.disabled = true;
      show("Processing your payment\u2026", "info");
      payWithSavedCard(savedButton.dataset.paymentMethod).catch(function () {
        show("Something went wrong. Please check your connection and try again.", "error");
      }).finally(function () {
        savedButton.disabled = false;
      });
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    show(config.free ? "Enrolling you\u2026" : "Processing your payment\u2026", "info");
    pay().catch(function () {
      show("Something went wrong. Please check your connection and try again.", "error");
    }).finally(function () {
      button.disabled = false;
    });
  });

  // Back from a redirect-based payment method (Stripe): ask the server how it went.
  var params = new URLSearchParams(window.location.search);
  if (params.get("payment_intent")) {
    window.history.replaceState(null, "", window.location.pathname);
    show("Checking your payment\u2026", "info");
    updateStatus(params.get("payment_intent")).then(function (payment) {
      render(payment, null);
    });
  }
})();
