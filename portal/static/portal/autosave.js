// Autosave of the draft form (portal/templates/portal/form.html; the server side and the design:
// portal/autosave.py). Every 30 seconds, when the form changed since the last save, its fields are
// posted to the form's data-autosave-url and the status next to the submit button says when they
// were saved. The fields are also kept in localStorage (per user and form) from the first change
// until a save took all of them: a session that expired, a lost connection or a closed tab loses
// nothing, and the form offers to restore that text the next time it opens.
// Without JavaScript the form works as before. Every message comes from the page (data-msg-*
// attributes and the notices' text), translated by Django. A static file: the Content-Security-Policy
// allows no inline script.
(function () {
  "use strict";
  var form = document.getElementById("draft-form");
  if (!form || !form.dataset.autosaveUrl || !window.fetch || !window.FormData || !window.Promise) { return; }
  var INTERVAL = 30000;
  var BOOKKEEPING = { csrfmiddlewaretoken: true, form_token: true };
  var data = form.dataset;
  var status = document.getElementById("autosave-status");
  var signedOut = document.getElementById("autosave-signed-out");
  var signIn = document.getElementById("autosave-sign-in");
  var restoreBox = document.getElementById("autosave-restore");
  var storageKey = data.storagePrefix + data.storageKey;
  var inFlight = null;     // the promise of the save being sent
  var submitting = false;  // the form is being sent: no more autosave
  var timer = null;
  // What the server holds, as far as this page knows (a page re-shown with its errors: not known),
  // and what it refused as it stands; the form is saved when it differs from both.
  var savedPrint = data.bound ? null : fingerprint(fields());
  var refusedPrint = null;
  var offered = false;     // the restore offer is open: what was kept stays as it is until the user decides

  // --- the fields --------------------------------------------------------------------------
  function fields() {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (BOOKKEEPING[name] || typeof value !== "string") { return; }
      (out[name] = out[name] || []).push(value);
    });
    return out;
  }

  // The fields as the server keeps them (trimmed, one kind of line break), to compare two states.
  function fingerprint(values) {
    var out = {};
    Object.keys(values).sort().forEach(function (name) {
      out[name] = values[name].map(function (v) { return v.replace(/\r\n?/g, "\n").trim(); });
    });
    return JSON.stringify(out);
  }

  function fill(values) {
    Array.prototype.forEach.call(form.elements, function (element) {
      if (!element.name || BOOKKEEPING[element.name]) { return; }
      var kept = values[element.name] || [];
      if (element.type === "checkbox" || element.type === "radio") {
        element.checked = kept.indexOf(element.value) !== -1;
      } else if (element.tagName === "TEXTAREA" || (element.tagName === "INPUT" && element.type !== "file")) {
        element.value = kept.length ? kept[0] : "";
      }
    });
  }

  // --- what this browser keeps ----------------------------------------------------------------
  function keep() {
    if (offered) { return; }
    try {
      window.localStorage.setItem(storageKey, JSON.stringify({ fields: fields(), at: new Date().toISOString() }));
    } catch (e) { /* storage full or refused: the server copy is all there is */ }
  }

  function kept() {
    try { return JSON.parse(window.localStorage.getItem(storageKey) || "null"); } catch (e) { return null; }
  }

  function forget() {
    if (offered) { return; }
    try { window.localStorage.removeItem(storageKey); } catch (e) { /* nothing kept */ }
  }

  // --- what the page says ------------------------------------------------------------------------
  function say(text) {
    status.textContent = text;
  }

  function showSignedOut(shown) {
    if (!signedOut) { return; }
    if (shown && signIn) {
      signIn.href = data.loginUrl + "?next=" + encodeURIComponent(window.location.pathname);
    }
    signedOut.hidden = !shown;
  }

  function csrfToken() {
    var match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    return match ? decodeURIComponent(match[1]) : "";
  }

  // The draft exists now (the new page's first save): the form, the address bar, the next saves
  // and what this browser keeps all point at it.
  function followDraft(answer) {
    if (!answer.edit_url || data.storageKey === answer.reference) { return; }
    form.action = answer.edit_url;
    data.autosaveUrl = answer.autosave_url;
    try { window.history.replaceState(window.history.state, "", answer.edit_url); } catch (e) { /* address stays */ }
    var previous = storageKey;
    data.storageKey = answer.reference;
    storageKey = data.storagePrefix + answer.reference;
    if (!offered) {
      try { window.localStorage.removeItem(previous); } catch (e) { /* nothing kept */ }
    }
    keep();
  }

  // --- saving ----------------------------------------------------------------------------------
  function unsaved() {
    var now = fingerprint(fields());
    return now !== savedPrint && now !== refusedPrint;
  }

  // Resolves to "saved", "signed_out" or "failed"; never rejects.
  function save(options) {
    var sent = fingerprint(fields());
    var body = new FormData(form);
    var token = csrfToken();
    if (token) { body.set("csrfmiddlewaretoken", token); }  // the cookie's: still right after a sign-in elsewhere
    var request = window.fetch(data.autosaveUrl, {
      method: "POST", body: body, credentials: "same-origin", keepalive: Boolean(options && options.keepalive),
      headers: { "Accept": "application/json", "X-CSRFToken": token || body.get("csrfmiddlewaretoken") }
    }).then(function (response) {
      return response.json().catch(function () { return null; }).then(function (answer) {
        return { status: response.status, answer: answer };
      });
    }).then(function (result) {
      var answer = result.answer || {};
      if (result.status === 200 && answer.saved_at_display) {
        followDraft(answer);
        showSignedOut(false);
        var unsaved = answer.unsaved || [];
        say(unsaved.length
          ? data.msgSavedPartial.replace("%(time)s", answer.saved_at_display).replace("%(fields)s", unsaved.join(", "))
          : data.msgSaved.replace("%(time)s", answer.saved_at_display));
        savedPrint = sent;
        refusedPrint = null;
        if (fingerprint(fields()) === sent && !unsaved.length) { forget(); }
        return "saved";
      }
      keep();
      // Signed out, or the session's cookies are gone (Django's CSRF refusal is an HTML 403): saved
      // again at the next tick, which succeeds once the user has signed in again (in any tab).
      if (result.status === 401 || (result.status === 403 && !answer.error)) {
        say("");
        showSignedOut(true);
        return "signed_out";
      }
      // Refused as it stands (no title yet, a page already sent...): tried again after the next change.
      refusedPrint = sent;
      say(answer.message || data.msgFailed);
      return "failed";
    }).catch(function () {  // no answer (offline): tried again at the next tick
      keep();
      say(data.msgFailed);
      return "failed";
    });
    inFlight = request.then(function (outcome) { inFlight = null; return outcome; });
    return inFlight;
  }

  function tick() {
    if (!inFlight && !submitting && unsaved()) { save(); }
  }

  function start() {
    if (timer === null) { timer = window.setInterval(tick, INTERVAL); }
  }

  function stop() {
    if (timer !== null) { window.clearInterval(timer); timer = null; }
  }

  function changed(event) {
    if (event && !event.target.name) { return; }  // the catalogue filter is not a field of the draft
    if (fingerprint(fields()) !== savedPrint) { keep(); }
  }

  form.addEventListener("input", changed);
  form.addEventListener("change", changed);

  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState !== "hidden" || submitting) { return; }
    if (unsaved()) {
      keep();
      if (!inFlight) { save({ keepalive: true }); }
    }
  });

  // The final submit. With nothing unsaved it goes at once. Otherwise: wait for a save in flight,
  // save once more (an expired session is seen here, before the page is left, and what was kept in
  // this browser is cleared once saved), then let the form go, to the draft's edit page once it exists.
  form.addEventListener("submit", function (event) {
    if (submitting) { return; }
    if (!inFlight && !unsaved() && !kept()) { submitting = true; stop(); return; }
    event.preventDefault();
    submitting = true;
    stop();
    var sent = false;
    function send() {
      if (sent) { return; }
      sent = true;
      var hidden = form.querySelector("input[name=csrfmiddlewaretoken]");
      var token = csrfToken();
      if (hidden && token) { hidden.value = token; }
      HTMLFormElement.prototype.submit.call(form);
    }
    window.setTimeout(send, 15000);  // a save that never answers does not hold the form
    (inFlight || Promise.resolve()).then(function () { return save(); }).then(function (outcome) {
      if (outcome === "signed_out" && !sent) {
        sent = true;
        submitting = false;
        start();
        if (signIn) { signIn.focus(); }
        return;
      }
      send();
    });
  });

  // Back to this page from the browser's cache after it was sent: it saves itself again.
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { submitting = false; start(); }
  });

  // --- on opening: the text this browser kept ----------------------------------------------------
  function closeRestore(offerKey) {
    offered = false;
    try { window.localStorage.removeItem(offerKey); } catch (e) { /* nothing kept */ }
    restoreBox.hidden = true;
    var first = form.querySelector("input:not([type=hidden]), textarea");
    if (first) { first.focus(); }
  }

  var previous = kept();
  if (previous && previous.fields) {
    if (fingerprint(previous.fields) === fingerprint(fields())) {
      // The page shows what was kept: saved since, or a page re-shown with its errors (keep it then).
      if (!data.bound) { forget(); }
    } else if (restoreBox) {
      var offerKey = storageKey;  // the draft may be created meanwhile: the key then changes
      offered = true;
      restoreBox.hidden = false;
      document.getElementById("autosave-restore-button").addEventListener("click", function () {
        closeRestore(offerKey);
        fill(previous.fields);
        changed();
        say(data.msgRestored);
      });
      document.getElementById("autosave-discard-button").addEventListener("click", function () {
        closeRestore(offerKey);
        changed();  // what the form shows now, if it changed while the offer was open
      });
    }
  }
  start();
})();
