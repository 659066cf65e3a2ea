// The dashboard's own script: copying to the clipboard. navigator.clipboard exists only on https and
// localhost pages; elsewhere a hidden text area and execCommand do it.
window.errorHub = {
  copy: async function (text) {
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(text);
        return true;
      }
    } catch (e) {
      // fall through to the older way
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    let copied = false;
    try {
      copied = document.execCommand("copy");
    } catch (e) {
      copied = false;
    }
    document.body.removeChild(area);
    return copied;
  }
};

// The circuit is lost while the server restarts. blazor.web.js retries by itself (the banner shows "Reconnecting…");
// a restarted server no longer knows the circuit and rejects it: then the page is loaded again, where the reader was.
// When blazor.web.js gives up retrying, keep asking the server whether it is back, quietly.
(function () {
  const banner = document.getElementById("components-reconnect-modal");
  if (!banner) {
    return;
  }

  let timer = 0;
  const reload = function () {
    banner.classList.add("components-reconnect-reloading");
    location.reload();
  };
  const pollUntilBack = function () {
    timer = setTimeout(async function () {
      try {
        const answer = await fetch("healthz", { cache: "no-store" });
        if (answer.ok) {
          const reconnected = await Blazor.reconnect();
          if (!reconnected) {
            reload();
          }
          return;
        }
      } catch (e) {
        // still down
      }
      pollUntilBack();
    }, 2000);
  };

  banner.addEventListener("components-reconnect-state-changed", function (event) {
    clearTimeout(timer);
    const state = event.detail && event.detail.state;
    if (state === "rejected" || state === "resume-failed") {
      reload();
    } else if (state === "failed") {
      pollUntilBack();
    }
  });
})();

// A page is shown as the server rendered it until its circuit starts, and then replaced by the live one: what was typed,
// ticked or chosen meanwhile would be lost without a sign. It is remembered here and put into the live page's same field,
// with the events the live page listens to, so that it counts as typed there (and the caret stays where it was).
(function () {
  const isInteractive = function () {
    return document.querySelector('main.dashboard-main[data-interactive="true"]') !== null;
  };
  if (isInteractive() || !document.querySelector("main.dashboard-main")) {
    return;
  }

  // Fields of the same kind are told apart by their place among those of that kind.
  const kindOf = function (field) {
    const label = field.id || field.getAttribute("name") || field.getAttribute("aria-label") || field.className;
    return field.tagName + "|" + (field.getAttribute("type") || "") + "|" + label;
  };
  const keyOf = function (field) {
    const kind = kindOf(field);
    const alike = [...document.querySelectorAll("main.dashboard-main input, main.dashboard-main textarea, main.dashboard-main select")]
      .filter(other => kindOf(other) === kind);
    return kind + "|" + alike.indexOf(field);
  };
  const isCheck = function (field) {
    return field.type === "checkbox" || field.type === "radio";
  };

  const changed = new Map();
  let focusedKey = null;
  const remember = function (event) {
    const field = event.target;
    if (isInteractive() || !(field instanceof HTMLElement) || !field.matches("main.dashboard-main :is(input, textarea, select)") ||
        field.type === "hidden" || field.type === "password") {
      return;
    }
    changed.set(keyOf(field), isCheck(field) ? field.checked : field.value);
    focusedKey = document.activeElement === field ? keyOf(field) : focusedKey;
  };
  document.addEventListener("input", remember, true);
  document.addEventListener("change", remember, true);

  const putBack = function () {
    for (const [key, value] of [...changed]) {
      const kind = key.slice(0, key.lastIndexOf("|"));
      const index = Number(key.slice(key.lastIndexOf("|") + 1));
      const field = [...document.querySelectorAll("main.dashboard-main input, main.dashboard-main textarea, main.dashboard-main select")]
        .filter(other => kindOf(other) === kind)[index];
      if (!field || field.disabled || field.readOnly) {
        continue; // not rendered yet (the live page may still be reading), or not to be changed by this reader
      }

      changed.delete(key);
      if (isCheck(field) ? field.checked === value : field.value === value) {
        continue;
      }

      if (isCheck(field)) {
        field.checked = value;
      } else {
        field.value = value;
      }
      field.dispatchEvent(new Event("input", { bubbles: true }));
      field.dispatchEvent(new Event("change", { bubbles: true }));
      if (key === focusedKey) {
        field.focus();
      }
    }
  };

  // The live page's fields can come a little after it turns interactive (parts that read the store first): give them a while.
  let givenUpAt = 0;
  const watcher = new MutationObserver(function () {
    if (!isInteractive()) {
      return;
    }

    givenUpAt = givenUpAt || Date.now() + 10000;
    putBack();
    if (changed.size === 0 || Date.now() > givenUpAt) {
      watcher.disconnect();
      document.removeEventListener("input", remember, true);
      document.removeEventListener("change", remember, true);
    }
  });
  watcher.observe(document.body, { subtree: true, childList: true, attributes: true, attributeFilter: ["data-interactive"] });
})();
