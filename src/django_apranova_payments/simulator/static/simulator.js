/*
 * ApranovaSimulator: the offline payment simulator's stand-in for the parts of Stripe.js a
 * checkout page uses. Served by django-apranova-payments when the simulator is the
 * configured gateway; no money moves and nothing leaves this server.
 *
 *   const sim = ApranovaSimulator();
 *   const elements = sim.elements();
 *   elements.create("payment").mount("#payment-element");   // a fake card form
 *   const {error: invalid} = await elements.submit();        // checks the fields
 *   const {error, paymentIntent} = await sim.confirmPayment({elements, clientSecret});
 *   // or, for a PaymentIntent created with a saved card (paymentMethod), one click:
 *   const {error, paymentIntent} = await sim.confirmCardPayment(clientSecret);
 *
 * Results have Stripe.js' shapes: {paymentIntent} or {error: {type, code, message, ...}}.
 * A card that requires authentication opens the simulator's 3-D Secure page in a dialog.
 */
(function () {
  "use strict";

  // The page's language when it loads Django's JavaScript catalogue (window.gettext), else English.
  function gettext(text) { return typeof window.gettext === "function" ? window.gettext(text) : text; }

  var TEST_CARDS = /*TEST_CARDS*/[];
  var BASE = new URL(".", document.currentScript.src);
  var STYLE = [
    ".apranova-sim-element{display:grid;gap:.6rem;padding:.9rem;border:1px dashed #b7791f;border-radius:.5rem;background:#fffdf7}",
    ".apranova-sim-element label{display:block;font-size:.85rem;color:#4f566b;margin-bottom:.2rem}",
    ".apranova-sim-element input{width:100%;box-sizing:border-box;font:inherit;padding:.5rem .6rem;border:1px solid #c1c9d2;border-radius:.35rem}",
    ".apranova-sim-element input[aria-invalid=true]{border-color:#df1b41}",
    ".apranova-sim-row{display:grid;grid-template-columns:1fr 1fr;gap:.6rem}",
    ".apranova-sim-cards{font-size:.85rem;color:#4f566b}",
    ".apranova-sim-cards button{font:inherit;font-family:ui-monospace,monospace;border:0;background:none;color:#635bff;cursor:pointer;padding:0;text-decoration:underline}",
    ".apranova-sim-cards ul{margin:.35rem 0 0;padding-left:1.25rem}",
    ".apranova-sim-cards li{margin:.15rem 0}",
    ".apranova-sim-error{color:#df1b41;margin:0;font-size:.9rem}",
    ".apranova-sim-error:empty{display:none}",
    ".apranova-sim-3ds{border:0;border-radius:.6rem;padding:0;width:min(92vw,460px);box-shadow:0 10px 40px rgba(0,0,0,.3)}",
    ".apranova-sim-3ds::backdrop{background:rgba(26,31,54,.55)}",
    ".apranova-sim-3ds header{display:flex;justify-content:space-between;align-items:center;padding:.5rem .9rem;background:#f6f8fa;font-size:.85rem}",
    ".apranova-sim-3ds header button{font:inherit;border:0;background:none;color:inherit;cursor:pointer;padding:.2rem .4rem}",
    ".apranova-sim-3ds iframe{display:block;border:0;width:100%;height:240px}"
  ].join("\n");

  function api(path) {
    return new URL("v1/" + path, BASE).toString();
  }

  function intentId(clientSecret) {
    var at = String(clientSecret || "").indexOf("_secret_");
    if (at < 1) throw new Error("Not a PaymentIntent client secret.");
    return clientSecret.slice(0, at);
  }

  function injectStyle() {
    if (document.getElementById("apranova-sim-style")) return;
    var style = document.createElement("style");
    style.id = "apranova-sim-style";
    style.textContent = STYLE;
    document.head.appendChild(style);
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") node.textContent = attrs[name];
      else node.setAttribute(name, attrs[name]);
    });
    (children || []).forEach(function (child) { node.appendChild(child); });
    return node;
  }

  function luhn(digits) {
    var sum = 0;
    for (var i = 0; i < digits.length; i++) {
      var d = Number(digits[digits.length - 1 - i]);
      if (i % 2) d = d > 4 ? d * 2 - 9 : d * 2;
      sum += d;
    }
    return sum % 10 === 0;
  }

  // -- the fake card form ------------------------------------------------------------------

  function CardElement() {
    this.inputs = {};
    this.errorNode = null;
  }

  CardElement.prototype.mount = function (target) {
    var container = typeof target === "string" ? document.querySelector(target) : target;
    var later = new Date(new Date().getFullYear() + 3, 11, 1);
    injectStyle();
    this.inputs.number = el("input", {id: "apranova-sim-number", name: "cardnumber", inputmode: "numeric",
      autocomplete: "off", placeholder: "1234 1234 1234 1234", maxlength: "23"});
    this.inputs.expiry = el("input", {id: "apranova-sim-expiry", name: "exp-date", inputmode: "numeric",
      autocomplete: "off", placeholder: "MM / YY",
      value: "12 / " + String(later.getFullYear()).slice(2)});
    this.inputs.cvc = el("input", {id: "apranova-sim-cvc", name: "cvc", inputmode: "numeric",
      autocomplete: "off", placeholder: "CVC", maxlength: "4", value: "123"});
    this.errorNode = el("p", {"class": "apranova-sim-error", role: "alert"});
    var number = this.inputs.number;
    number.addEventListener("input", function () {
      var digits = number.value.replace(/\D/g, "").slice(0, 19);
      number.value = digits.replace(/(\d{4})(?=\d)/g, "$1 ");
    });
    var list = el("ul", {});
    TEST_CARDS.forEach(function (card) {
      var use = el("button", {type: "button", text: card.number, title: gettext("Use this test card")});
      use.addEventListener("click", function () { number.value = card.number; number.focus(); });
      list.appendChild(el("li", {}, [use, document.createTextNode(" " + card.description)]));
    });
    container.replaceChildren(el("div", {"class": "apranova-sim-element"}, [
      el("div", {}, [el("label", {"for": "apranova-sim-number", text: gettext("Card number")}), number]),
      el("div", {"class": "apranova-sim-row"}, [
        el("div", {}, [el("label", {"for": "apranova-sim-expiry", text: gettext("Expiry (MM / YY)")}), this.inputs.expiry]),
        el("div", {}, [el("label", {"for": "apranova-sim-cvc", text: "CVC"}), this.inputs.cvc])
      ]),
      el("div", {"class": "apranova-sim-cards"}, [document.createTextNode(gettext("Test cards (any future expiry, any CVC):")), list]),
      this.errorNode
    ]));
    return this;
  };

  CardElement.prototype.values = function () {
    var expiry = this.inputs.expiry.value.split("/").map(function (part) { return part.trim(); });
    return {
      number: this.inputs.number.value.replace(/\D/g, ""),
      exp_month: expiry[0] || "",
      exp_year: expiry[1] || "",
      cvc: this.inputs.cvc.value.trim()
    };
  };

  CardElement.prototype.validate = function () {
    var v = this.values();
    var now = new Date();
    var year = Number(v.exp_year.length === 2 ? "20" + v.exp_year : v.exp_year);
    var month = Number(v.exp_month);
    var problem = null;
    if (!/^\d{12,19}$/.test(v.number) || !luhn(v.number)) problem = ["number", gettext("Your card number is incorrect.")];
    else if (!(month >= 1 && month <= 12) || !year) problem = ["expiry", gettext("Your card's expiration date is incomplete.")];
    else if (year * 12 + month < now.getFullYear() * 12 + now.getMonth() + 1) problem = ["expiry", gettext("Your card's expiration date is in the past.")];
    else if (!/^\d{3,4}$/.test(v.cvc)) problem = ["cvc", gettext("Your card's security code is incomplete.")];
    Object.keys(this.inputs).forEach(function (name) {
      this.inputs[name].setAttribute("aria-invalid", String(Boolean(problem && problem[0] === name)));
    }, this);
    this.showError(problem ? problem[1] : "");
    return problem ? {type: "validation_error", code: "invalid_" + problem[0], message: problem[1]} : null;
  };

  CardElement.prototype.showError = function (message) {
    if (this.errorNode) this.errorNode.textContent = message || "";
  };

  // -- the 3-D Secure dialog ---------------------------------------------------------------

  // The frame takes the height of the page it shows (the challenge, then the "finished" page),
  // so there is no empty band under the bank's buttons and no scroll bar on a small screen.
  // Shrunk first, or the page would measure at least the frame's current height.
  function fitToPage(iframe) {
    var page = null;
    try { page = iframe.contentDocument && iframe.contentDocument.documentElement; } catch (e) { /* cross-origin */ }
    if (!page) return;  // keep the stylesheet's height
    iframe.style.height = "0";
    iframe.style.height = page.scrollHeight + "px";
  }

  function authenticate(url, id, clientSecret) {
    return new Promise(function (resolve) {
      var iframe = el("iframe", {src: url, title: "3-D Secure authentication"});
      function fit() { fitToPage(iframe); }
      iframe.addEventListener("load", fit);
      window.addEventListener("resize", fit);
      var close = el("button", {type: "button", "aria-label": gettext("Cancel authentication"), text: "\u2715"});
      var dialog = el("dialog", {"class": "apranova-sim-3ds", "aria-label": "3-D Secure authentication"}, [
        el("header", {}, [el("span", {text: gettext("Simulator \u00b7 3-D Secure")}), close]), iframe
      ]);
      var done = false;
      function finish() {
        if (done) return;
        done = true;
        window.removeEventListener("message", onMessage);
        window.removeEventListener("resize", fit);
        dialog.close();
        dialog.remove();
        resolve();
      }
      function onMessage(event) {
        var data = event.data || {};
        if (event.origin === window.location.origin && event.source === iframe.contentWindow &&
            data.type === "apranova-simulator:authentication-finished" && data.paymentIntent === id) finish();
      }
      function abandon(event) {
        if (event) event.preventDefault();
        // As with Stripe, closing the challenge fails the authentication.
        var body = new URLSearchParams({client_secret: clientSecret, action: "fail"});
        fetch(url, {method: "POST", body: body, credentials: "same-origin"}).catch(function () {}).then(finish);
      }
      window.addEventListener("message", onMessage);
      dialog.addEventListener("cancel", abandon);
      close.addEventListener("click", function () { abandon(); });
      document.body.appendChild(dialog);
      dialog.showModal();
    });
  }

  // -- the API -------------------------------------------------------------------------------

  function connectionError() {
    return {error: {type: "api_connection_error", message: gettext("The payment simulator could not be reached. Try again.")}};
  }

  function retrievePaymentIntent(clientSecret) {
    var url = api("payment_intents/" + intentId(clientSecret)) + "?" + new URLSearchParams({client_secret: clientSecret});
    return fetch(url, {credentials: "same-origin"}).then(function (response) {
      return response.json().then(function (body) {
        return response.ok ? {paymentIntent: body} : {error: body.error};
      });
    }, connectionError);
  }

  async function confirm(clientSecret, body, form) {
    var id = intentId(clientSecret);
    var response;
    try {
      response = await fetch(api("payment_intents/" + id + "/confirm"), {
        method: "POST",
        credentials: "same-origin",
        headers: {"Content-Type": "application/json"},
        body: JSON.stringify(Object.assign({client_secret: clientSecret}, body))
      });
    } catch (e) {
      return connectionError();
    }
    var answer = await response.json();
    if (!response.ok) {
      if (form) form.showError(answer.error && answer.error.param ? answer.error.message : "");  // field errors only
      return {error: answer.error};
    }
    var intent = answer;
    if (intent.status === "requires_action" && intent.next_action && intent.next_action.type === "redirect_to_url") {
      await authenticate(intent.next_action.redirect_to_url.url, id, clientSecret);
      var retrieved = await retrievePaymentIntent(clientSecret);
      if (retrieved.error) return retrieved;
      intent = retrieved.paymentIntent;
      if (intent.last_payment_error) {
        return {error: Object.assign({}, intent.last_payment_error, {payment_intent: intent})};
      }
    }
    if (form) form.showError("");
    return {paymentIntent: intent};
  }

  function ApranovaSimulator() {
    var card = null;
    return {
      isSimulator: true,
      elements: function () {
        return {
          create: function () { card = new CardElement(); return card; },
          submit: function () {
            var problem = card ? card.validate() : {type: "validation_error", message: "No card form is mounted."};
            return Promise.resolve(problem ? {error: problem} : {});
          }
        };
      },
      retrievePaymentIntent: retrievePaymentIntent,
      confirmPayment: function (options) {
        return confirm(options.clientSecret, {payment_method_data: {type: "card", card: card.values()}}, card);
      },
      // A PaymentIntent the server created with a saved card (paymentMethod): no card form.
      confirmCardPayment: function (clientSecret) {
        return confirm(clientSecret, {}, null);
      }
    };
  }

  window.ApranovaSimulator = ApranovaSimulator;
})();
