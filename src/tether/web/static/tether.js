// tether's web UI: live approvals over server-sent events, drag-and-drop install, error toasts.
// Plain script, no build step; htmx does the requests. Nothing here handles a secret.
"use strict";

(function () {
  const pending = new Set();

  function lists() {
    return document.querySelectorAll("[data-approvals-list]");
  }

  function updateCount() {
    document.querySelectorAll("[data-approvals-count]").forEach(function (badge) {
      badge.textContent = String(pending.size);
      badge.hidden = pending.size === 0;
    });
    document.querySelectorAll("[data-approvals-section]").forEach(function (section) {
      section.hidden = section.querySelector(".approval:not(.decided)") === null && section.querySelector(".approval.decided") === null;
    });
  }

  function showApproval(id, html) {
    if (pending.has(id) && document.getElementById("approval-" + id)) {
      return;
    }
    pending.add(id);
    lists().forEach(function (list) {
      if (list.querySelector("#approval-" + CSS.escape(id))) {
        return;
      }
      const holder = document.createElement("template");
      holder.innerHTML = html.trim();
      const card = holder.content.firstElementChild;
      if (card === null) {
        return;
      }
      list.appendChild(card);
      if (window.htmx) {
        window.htmx.process(card);
      }
    });
    updateCount();
  }

  function dropApproval(id) {
    pending.delete(id);
    document.querySelectorAll("#approval-" + CSS.escape(id)).forEach(function (card) {
      if (!card.hasAttribute("data-decided")) {
        card.remove();
      }
    });
    updateCount();
  }

  function listen() {
    if (!window.EventSource) {
      return;
    }
    const source = new EventSource("/events");
    source.addEventListener("approval", function (event) {
      const data = JSON.parse(event.data);
      showApproval(data.id, data.html);
    });
    source.addEventListener("resolved", function (event) {
      dropApproval(JSON.parse(event.data).id);
    });
    source.addEventListener("activity", function () {
      const banner = document.querySelector("[data-live-banner]");
      if (banner !== null) {
        const count = Number(banner.dataset.count || "0") + 1;
        banner.dataset.count = String(count);
        banner.querySelector("[data-live-count]").textContent = String(count);
        banner.hidden = false;
      }
    });
    document.body.dataset.live = "connecting";
    source.addEventListener("open", function () {
      document.body.dataset.live = "open";
    });
    source.addEventListener("error", function () {
      if (source.readyState === EventSource.CLOSED) {
        document.body.dataset.live = "closed";
        toast("Live updates stopped: reload the page (sign in again if tether was restarted).");
      }
    });
  }

  function toast(message) {
    const box = document.getElementById("toasts");
    if (box === null) {
      return;
    }
    const item = document.createElement("div");
    item.className = "toast";
    item.setAttribute("role", "alert");
    item.textContent = message;
    box.appendChild(item);
    setTimeout(function () { item.remove(); }, 8000);
  }

  function dropzones() {
    document.querySelectorAll("[data-dropzone]").forEach(function (zone) {
      const input = zone.querySelector("input[type=file]");
      zone.addEventListener("dragover", function (event) {
        event.preventDefault();
        zone.classList.add("over");
      });
      zone.addEventListener("dragleave", function () {
        zone.classList.remove("over");
      });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        zone.classList.remove("over");
        if (input === null || !event.dataTransfer || event.dataTransfer.files.length === 0) {
          return;
        }
        input.files = event.dataTransfer.files;
        input.dispatchEvent(new Event("change", { bubbles: true }));
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll(".approval[data-approval]").forEach(function (card) {
      if (!card.hasAttribute("data-decided")) {
        pending.add(card.dataset.approval);
      }
    });
    updateCount();
    dropzones();
    listen();
    document.body.addEventListener("htmx:afterSwap", function () {
      document.querySelectorAll(".approval[data-decided]").forEach(function (card) {
        pending.delete(card.dataset.approval);
      });
      updateCount();
    });
    document.body.addEventListener("htmx:responseError", function (event) {
      const text = event.detail.xhr.responseText || ("request failed: " + event.detail.xhr.status);
      toast(text.length > 400 ? text.slice(0, 400) + "…" : text);
    });
    document.body.addEventListener("htmx:sendError", function () {
      toast("tether is not reachable: is `tether serve` still running?");
    });
  });
})();
