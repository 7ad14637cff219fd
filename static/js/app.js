// Small progressive enhancements; every page works without them (forms have submit buttons).
(function () {
  "use strict";

  function onReady(fn) {
    if (document.readyState !== "loading") fn();
    else document.addEventListener("DOMContentLoaded", fn);
  }

  onReady(function () {
    // Mobile navigation drawer.
    var shell = document.querySelector(".shell");
    var toggle = document.querySelector(".menu-toggle");
    if (shell && toggle) {
      toggle.addEventListener("click", function () {
        var open = shell.classList.toggle("nav-open");
        toggle.setAttribute("aria-expanded", open ? "true" : "false");
      });
    }

    // On a phone the risk board's filter menus start folded behind a "Filters" button.
    if (window.matchMedia("(max-width: 860px)").matches) {
      document.querySelectorAll("details.filter-more").forEach(function (details) {
        var chosen = Array.from(details.querySelectorAll("select, input")).some(function (field) {
          return field.value !== "";
        });
        if (!chosen) details.removeAttribute("open");
      });
    }

    // Close the user menu when clicking elsewhere or pressing Escape.
    document.addEventListener("click", function (event) {
      document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
        if (!menu.contains(event.target)) menu.removeAttribute("open");
      });
    });
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      document.querySelectorAll("details.user-menu[open]").forEach(function (menu) {
        menu.removeAttribute("open");
        menu.querySelector("summary").focus();
      });
    });
  });

  // Auto-submit selects marked data-autosubmit (the tenant switcher); its button stays for no-JS.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target instanceof HTMLSelectElement && target.hasAttribute("data-autosubmit")) {
      target.form.requestSubmit();
    }
  });

  // Print buttons (the briefing): the page has a print stylesheet.
  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target instanceof Element && target.closest("[data-print]")) window.print();
  });

  // "Select all" checkbox for bulk actions.
  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!(target instanceof HTMLInputElement) || !target.hasAttribute("data-select-all")) return;
    var scope = target.closest("form") || document;
    scope.querySelectorAll('input[type="checkbox"][name="' + target.dataset.selectAll + '"]').forEach(
      function (box) {
        box.checked = target.checked;
      }
    );
  });

  // Forms marked data-drop-empty send only the fields that have a value, so the URL pushed to
  // the history (and shared as a bookmark) stays short and readable.
  document.addEventListener("htmx:configRequest", function (event) {
    var source = event.detail.elt;
    var form = source && source.closest ? source.closest("[data-drop-empty]") : null;
    if (!form || event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    Array.from(params.keys()).forEach(function (key) {
      if (params.getAll(key).every(function (value) { return value === ""; })) params.delete(key);
    });
  });

  // A failed HTMX request must not fail silently.
  document.addEventListener("htmx:responseError", function (event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent =
      status === 403
        ? "You do not have permission to do that."
        : status === 404
          ? "That item no longer exists."
          : "Something went wrong (" + status + "). Please try again.";
    box.hidden = false;
  });
  document.addEventListener("htmx:sendError", function () {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.textContent = "The server could not be reached. Check your connection and try again.";
    box.hidden = false;
  });
})();
