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
