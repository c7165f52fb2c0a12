/*
 * The checkout, following ApraNova's payment flow:
 *   1. POST create-payment (the server sets the price from the course),
 *   2. confirm the payment (Stripe.js' Payment Element, or the offline simulator),
 *   3. POST update-status (the server asks Stripe; the browser's word is never used),
 *   4. show success or the error.
 * A declined or unauthenticated payment is retried on the same PaymentIntent.
 *
 * The coupon field answers by creating the payment at the new price: there is no quote
 * endpoint, so nobody can try codes faster than create-payment's throttle allows, and a
 * coupon's redemption is held only while a real payment is pending. "Apply" cancels the
 * page's pending payment (which gives its redemption back), creates the payment with the
 * coupon under a new Idempotency-Key, shows the new price, and mounts the card form again
 * for the new client secret; a coupon that makes the course free enrolls at once. "Remove
 * coupon" does the same without it. A page left with a pending payment is canceled later by
 * apranova_cancel_abandoned, which gives its redemption back too.
 *
 * A saved card ("Use my saved Visa •••• 4242") is one click: create-payment with its
 * paymentMethod, then confirmCardPayment with the client secret alone (3-D Secure still opens
 * when the bank asks). "Save this card for next time" sends savePaymentMethod; ticked or
 * unticked once the page's payment exists, the payment is made again with or without it.
 *
 * With tax (config.tax: the package's TAX is set), Stripe Tax prices the course for the
 * buyer's country and postal code, so the total is known only once the payment exists. "Show
 * the total" creates the payment with the billingAddress (and any coupon) as "Apply" does,
 * then shows the price, each tax and the total (checkout-tax) and mounts the card form for the
 * new client secret. Changing the address afterwards hides the total: "Show the total" (or
 * Pay, which does the same and stops) cancels the pending payment and creates it again for
 * the new address, so the card is only ever confirmed for a total the student has seen. An
 * error on billingAddress is shown under the address fields. Without a postal code where
 * Stripe needs one (US, CA) no address is sent, so a coupon that makes the course free still
 * enrolls without one.
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
  var card = null;
  if (!config.free) {
    provider = config.mode === "stripe" ? window.Stripe(config.publishableKey) : window.ApranovaSimulator();
    mountCardForm(null);
  }

  // The card form for the payment with this client secret, or (null) for the course's price
  // before a payment exists: Stripe's Payment Element is tied to one of the two.
  function mountCardForm(clientSecret) {
    if (card && card.destroy) card.destroy();
    if (config.mode === "stripe") {
      elements = clientSecret
        ? provider.elements({clientSecret: clientSecret})
        : provider.elements({mode: "payment", amount: config.amountMinor, currency: config.currency});
    } else {
      elements = provider.elements();
    }
    card = elements.create("payment");
    card.mount("#payment-element");
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
    var enrolled = interpolate(gettext("You are now enrolled in %(course)s."), {course: config.courseTitle}, true);
    show((free ? "" : gettext("Payment succeeded.") + " ") + enrolled + " ", "success");
    var link = document.createElement("a");
    link.href = config.myCoursesUrl;
    link.textContent = gettext("Go to my courses");
    message.appendChild(link);
    var element = form.querySelector("#payment-element");
    if (element) element.remove();
    button.remove();
    if (coupons) coupons.form.remove();
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
    if (response.status === 401 || response.status === 403) return gettext("Please log in again, then retry.");
    if (typeof body.detail === "string") return body.detail;
    return firstMessage(body) || gettext("The payment could not be started. Please try again.");
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
    if (status === "processing") return show(gettext("Your payment is processing. You will be enrolled as soon as it completes."), "info");
    if (status === "canceled") {
      forgetPayment(); // Stripe never reopens a canceled PaymentIntent: the next try is a new payment
      if (coupons) coupons.showPrice(null);
      if (tax) tax.showTotal(null);
      if (elements) mountCardForm(null);
      return show(gettext("This payment was canceled. You can pay again."), "error");
    }
    if (isFieldError(error) && status !== "failed") return show("");
    var text = (error && error.message) || (payment && payment.failureMessage) ||
      (status === "failed" ? gettext("Your payment was declined.") : gettext("The payment was not completed. You can try again."));
    show(text, "error");
  }

  function forgetPayment() {
    intent = null;
    idempotencyKey = newKey();
    if (tax) tax.forget();
  }

  function paymentUrl(paymentIntent, action) {
    return config.paymentsUrl + encodeURIComponent(paymentIntent) + "/" + action + "/";
  }

  // Keep the page's new payment; false when there is nothing to confirm (a free payment is
  // stored as succeeded and the enrollment made).
  function usePayment(created) {
    if (created.body.clientSecret === null) {
      render(created.body, null, true);
      return false;
    }
    if (!elements) {
      show(gettext("This course is no longer free. Reload the page to pay for it."), "error");
      return false;
    }
    intent = {id: created.body.paymentIntent, clientSecret: created.body.clientSecret};
    return true;
  }

  async function pay() {
    if (tax && !tax.shownFor(intent)) {
      // The student has not seen the total for this address yet: show it, and pay on the next click.
      return showTotalFirst(gettext("Check the total, then pay."));
    }
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
      if (!usePayment(created)) return;
      intent.saving = Boolean(body.savePaymentMethod);
    }
    var result = await provider.confirmPayment({
      elements: elements,
      clientSecret: intent.clientSecret,
      confirmParams: {return_url: config.returnUrl},
      redirect: "if_required"
    });
    render(await updateStatus(intent.id), result.error);
  }

  // -- the coupon field -------------------------------------------------------------------

  var coupons = document.getElementById("coupon-form") ? couponField() : null;

  function couponField() {
    var field = {
      form: document.getElementById("coupon-form"),
      input: document.getElementById("coupon-code"),
      apply: document.getElementById("coupon-apply"),
      remove: document.getElementById("coupon-remove"),
      message: document.getElementById("coupon-message"),
      before: document.getElementById("price-before"),
      now: document.getElementById("price-now")
    };
    var fullPrice = field.now.textContent;
    var payLabel = button.textContent;
    field.payLabel = payLabel;

    field.say = function (text, kind) {
      field.message.hidden = !text;
      field.message.className = "message " + (kind || "info");
      field.message.dataset.kind = kind || "info";
      field.message.textContent = text || "";
    };

    // The price of the page's payment: its amount and discount, or the course's own price.
    field.showPrice = function (payment) {
      var discounted = Boolean(payment && payment.coupon);
      var shown = discounted ? formatAmount(payment.amount, payment.currency) : fullPrice;
      field.now.textContent = shown;
      field.before.hidden = !discounted;
      button.textContent = discounted ? interpolate(gettext("Pay %(price)s"), {price: shown}, true) : payLabel;
      field.remove.hidden = !discounted;
      if (discounted) {
        field.input.value = payment.coupon;
        field.say(interpolate(gettext("%(code)s applied: %(discount)s off."),
                              {code: payment.coupon, discount: formatAmount(payment.discount, payment.currency)}, true), "success");
      }
    };

    field.form.addEventListener("submit", function (event) {
      event.preventDefault();
      var code = field.input.value.trim();
      if (!code) return field.say(gettext("Type a coupon code first."), "error");
      change(code);
    });
    field.remove.addEventListener("click", function () {
      field.input.value = "";
      change(null);
    });

    function change(code) {
      field.say(code ? interpolate(gettext("Applying %(code)s\u2026"), {code: code.toUpperCase()}, true)
                   : gettext("Removing the coupon\u2026"), "info");
      busy(replacePayment(code), field.say);
    }
    return field;
  }

  // The coupon applied to the page's payment ("" for none).
  function currentCode() {
    return coupons && !coupons.remove.hidden ? coupons.input.value.trim() : "";
  }

  // Run ``work`` (a promise) with the page's buttons disabled; ``say`` reports a failure.
  function busy(work, say) {
    var controls = [button, coupons && coupons.apply, coupons && coupons.remove, tax && tax.apply];
    controls.forEach(function (control) { if (control) control.disabled = true; });
    show("");
    return work.catch(function () {
      say(gettext("Something went wrong. Please check your connection and try again."), "error");
    }).finally(function () {
      controls.forEach(function (control) { if (control) control.disabled = false; });
    });
  }

  // -- the billing address and the tax (config.tax) -----------------------------------------

  var tax = config.tax ? taxField() : null;

  function taxField() {
    var field = {
      form: document.getElementById("tax-form"),
      country: document.getElementById("billing-country"),
      postalCode: document.getElementById("billing-postal-code"),
      apply: document.getElementById("tax-apply"),
      message: document.getElementById("tax-message"),
      summary: document.getElementById("tax-summary"),
      shown: null // {paymentIntent, address} whose total the summary shows
    };

    field.say = function (text, kind) {
      field.message.hidden = !text;
      field.message.className = "message " + (kind || "info");
      field.message.dataset.kind = kind || "info";
      field.message.textContent = text || "";
    };

    // {"country", "postalCode"} as the API takes it, or null when Stripe could not place it
    // (no postal code where one is needed): the server then says what is missing.
    field.address = function () {
      var address = {country: field.country.value};
      var postalCode = field.postalCode.value.trim();
      if (postalCode) address.postalCode = postalCode;
      else if (config.postalCodeCountries.indexOf(address.country) !== -1) return null;
      return address;
    };

    function key() {
      return JSON.stringify([field.country.value, field.postalCode.value.trim()]);
    }

    field.shownFor = function (payment) {
      return Boolean(payment && field.shown && field.shown.paymentIntent === payment.id && field.shown.address === key());
    };

    field.forget = function () {
      field.shown = null;
    };

    // The price, taxes and total of ``payment`` (null: hide them).
    field.showTotal = function (payment, summary) {
      field.summary.hidden = !summary;
      if (!summary) {
        field.shown = null;
        button.textContent = coupons ? coupons.payLabel : button.textContent;
        return;
      }
      field.shown = {paymentIntent: payment.paymentIntent, address: key()};
      document.getElementById("summary-price").textContent = summary.price;
      var rows = document.getElementById("summary-taxes");
      rows.replaceChildren();
      summary.taxes.forEach(function (line) {
        var row = document.createElement("div");
        var label = document.createElement("dt");
        var amount = document.createElement("dd");
        label.textContent = line.label;
        amount.textContent = line.amount;
        row.append(label, amount);
        rows.appendChild(row);
      });
      if (!summary.taxes.length) {
        var none = document.createElement("div");
        var noTax = document.createElement("dt");
        var zero = document.createElement("dd");
        noTax.textContent = gettext("Tax");
        zero.textContent = gettext("none");
        none.append(noTax, zero);
        rows.appendChild(none);
      }
      document.getElementById("summary-total").textContent = summary.total;
      button.textContent = interpolate(gettext("Pay %(price)s"), {price: summary.total}, true);
      field.say("");
    };

    function changed() {
      if (field.shown && field.shown.address !== key()) {
        field.summary.hidden = true;
        field.say(gettext("The address changed: show the total again before you pay."), "info");
      } else if (field.shown) {
        field.summary.hidden = false;
        field.say("");
      }
      field.postalCode.required = config.postalCodeCountries.indexOf(field.country.value) !== -1;
    }
    field.country.addEventListener("change", changed);
    field.postalCode.addEventListener("input", changed);
    changed();

    field.form.addEventListener("submit", function (event) {
      event.preventDefault();
      field.say(gettext("Calculating the tax\u2026"), "info");
      busy(replacePayment(currentCode(), field.say), field.say);
    });
    field.apply.disabled = false; // usable from now on
    return field;
  }

  // Create the payment for the address (and coupon) and show its total instead of paying;
  // ``next`` tells the student what to do then. A refusal is shown by the field it names.
  async function showTotalFirst(next) {
    await replacePayment(currentCode(), show);
    if (intent && tax.shownFor(intent)) show(next, "info");
    else if (message.dataset.kind === "info") show("");
  }

  async function showTax(payment) {
    var response = await fetch(config.taxUrl.replace("PAYMENT_INTENT", encodeURIComponent(payment.paymentIntent)),
                               {credentials: "same-origin", headers: {"Accept": "application/json"}});
    if (!response.ok) return tax.say(gettext("The tax could not be shown. Please try again."), "error");
    var summary = await response.json();
    tax.showTotal(payment, summary);
    if (coupons && payment.coupon) coupons.now.textContent = summary.price;
  }

  // An amount the API wrote as a decimal string ("749.25"), formatted from the string itself
  // (Intl takes a decimal string exactly), never through a binary float.
  function formatAmount(amount, currency) {
    var language = document.documentElement.lang || "en";
    return new Intl.NumberFormat(language, {style: "currency", currency: currency.toUpperCase()}).format(amount);
  }

  // Cancel the page's pending payment (its redemption goes back to the coupon), then create
  // the payment with ``code`` (or without a coupon) and show what it costs. A refusal of the
  // coupon or the address is shown by its field, any other error by ``report`` (by default
  // the coupon field's message: the field the student used).
  async function replacePayment(code, report) {
    var replaced = Boolean(intent);
    if (replaced) {
      var canceled = await post(paymentUrl(intent.id, "cancel"), {});
      if (!canceled.ok) {
        coupons.say("");
        // Too late to change it: the payment is processing or paid. Show how it stands.
        return render(canceled.status === 409 ? await updateStatus(intent.id) : null, null);
      }
      forgetPayment();
    }
    var body = {metadata: {course: String(config.courseId)}};
    if (code) body.coupon = code;
    var address = tax ? tax.address() : null;
    if (address) body.billingAddress = address;
    var saveBox = document.getElementById("save-card");
    if (saveBox && saveBox.checked) body.savePaymentMethod = true;
    var created = await post(config.createUrl, body, {"Idempotency-Key": idempotencyKey});
    if (!created.ok) {
      coupons.showPrice(null);
      if (tax) tax.showTotal(null);
      if (replaced) mountCardForm(null); // the card form of the canceled payment is no use
      var refused = created.body.coupon;
      var wrongAddress = created.body.billingAddress;
      if (tax && Array.isArray(wrongAddress) && wrongAddress.length) {
        coupons.say("");
        return tax.say(String(wrongAddress[0]), "error");
      }
      if (tax) tax.say("");
      if (Array.isArray(refused) && refused.length) return coupons.say(String(refused[0]), "error");
      coupons.say("");
      return (report || coupons.say)(apiError(created), "error");
    }
    coupons.showPrice(created.body);
    if (!code) coupons.say("");
    if (usePayment(created)) {
      intent.saving = Boolean(body.savePaymentMethod);
      mountCardForm(intent.clientSecret);
      if (tax) await showTax(created.body);
    } else if (tax) {
      tax.say("");
    }
  }

  // One click with a saved card, at the price the coupon field shows: the page's pending
  // payment is canceled first, so the coupon's redemption passes to the one paid now.
  async function payWithSavedCard(paymentMethod) {
    if (tax && !tax.shownFor(intent)) {
      // The total for this address first: the saved card pays it on the next click.
      return showTotalFirst(gettext("Check the total, then choose your card again."));
    }
    var body = {metadata: {course: String(config.courseId)}, paymentMethod: paymentMethod};
    var code = currentCode();
    if (code) body.coupon = code;
    if (tax) body.billingAddress = tax.address();
    if (intent && (code || tax)) {
      var canceled = await post(paymentUrl(intent.id, "cancel"), {});
      if (!canceled.ok) return render(canceled.status === 409 ? await updateStatus(intent.id) : null, null);
      forgetPayment();
    }
    var created = await post(config.createUrl, body, {"Idempotency-Key": newKey()});
    if (!created.ok) return show(apiError(created), "error");
    var result = await provider.confirmCardPayment(created.body.clientSecret);
    render(await updateStatus(created.body.paymentIntent), result.error);
  }

  // "Save this card" is part of the payment: ticked or unticked once the page's payment exists
  // (a coupon or the total shown), the payment is made again with it, at the same price.
  var saveBox = document.getElementById("save-card");
  if (saveBox && coupons) {
    saveBox.addEventListener("change", function () {
      if (!intent || intent.saving === saveBox.checked) return;
      busy(replacePayment(currentCode(), show), show);
    });
  }

  document.querySelectorAll("button.saved-card").forEach(function (savedButton) {
    savedButton.disabled = "expired" in savedButton.dataset; // usable from now on, unless expired
    savedButton.addEventListener("click", function () {
      savedButton.disabled = true;
      show(gettext("Processing your payment\u2026"), "info");
      payWithSavedCard(savedButton.dataset.paymentMethod).catch(function () {
        show(gettext("Something went wrong. Please check your connection and try again."), "error");
      }).finally(function () {
        savedButton.disabled = "expired" in savedButton.dataset;
      });
    });
  });

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    button.disabled = true;
    if (coupons) coupons.apply.disabled = coupons.remove.disabled = true;
    show(config.free ? gettext("Enrolling you\u2026") : gettext("Processing your payment\u2026"), "info");
    pay().catch(function () {
      show(gettext("Something went wrong. Please check your connection and try again."), "error");
    }).finally(function () {
      button.disabled = false;
      if (coupons) coupons.apply.disabled = coupons.remove.disabled = false;
    });
  });

  // Back from a redirect-based payment method (Stripe): ask the server how it went.
  var params = new URLSearchParams(window.location.search);
  if (params.get("payment_intent")) {
    window.history.replaceState(null, "", window.location.pathname);
    show(gettext("Checking your payment\u2026"), "info");
    updateStatus(params.get("payment_intent")).then(function (payment) {
      render(payment, null);
    });
  }
})();
