// The Chat page: follows a run's events over SSE (text as it streams, tool calls, the end of the
// turn), then swaps in the conversation as stored, its title and the conversation list. Ctrl+Enter
// sends. Forms are boosted by htmx.
// Plain script, no build step. Text is set with textContent; HTML comes rendered (escaped) by tether.
"use strict";

(function () {
  function follow(box) {
    if (box.dataset.following) {
      return;
    }
    box.dataset.following = "1";
    const body = box.querySelector("[data-live-body]");
    const controls = box.querySelector("[data-live-controls]");
    const source = new EventSource(box.dataset.stream);
    let bubble = null;

    function place(html) {
      const holder = document.createElement("template");
      holder.innerHTML = html.trim();
      const element = holder.content.firstElementChild;
      if (element === null) {
        return null;
      }
      const existing = element.id ? document.getElementById(element.id) : null;
      if (existing !== null) {
        existing.replaceWith(element);
      } else {
        body.appendChild(element);
      }
      if (window.htmx) {
        window.htmx.process(element);
      }
      return element;
    }

    source.addEventListener("text", function (event) {
      if (bubble === null) {
        bubble = document.createElement("div");
        bubble.className = "chat-bubble";
        body.appendChild(bubble);
      }
      bubble.textContent += JSON.parse(event.data).text;
    });
    source.addEventListener("call", function (event) {
      place(JSON.parse(event.data).html);
      bubble = null;
    });
    source.addEventListener("finished", function (event) {
      place(JSON.parse(event.data).html);
      bubble = null;
      if (controls !== null) {
        controls.hidden = true;
      }
    });
    source.addEventListener("end", function () {
      source.close();
      if (controls !== null) {
        controls.hidden = true;
      }
      const messages = document.getElementById("messages");
      if (messages !== null && window.htmx) {
        // The stored conversation: activity links, usage per turn, what still waits.
        window.htmx.ajax("GET", messages.dataset.refresh, { target: "#messages", swap: "outerHTML" });
      }
      refresh(["chat-list", "chat-head"]);
    });
  }

  // The parts of this page with these ids as the server shows them now (the list's "answering"
  // badge, the title the first turn set). Parsed, never run: the HTML comes escaped from tether.
  function refresh(ids) {
    fetch(location.pathname, { headers: { Accept: "text/html" } })
      .then(function (answer) { return answer.ok ? answer.text() : ""; })
      .then(function (html) {
        const fresh = new DOMParser().parseFromString(html, "text/html");
        for (const id of ids) {
          const now = fresh.getElementById(id);
          const shown = document.getElementById(id);
          if (now !== null && shown !== null) {
            shown.replaceWith(now);
            if (window.htmx) {
              window.htmx.process(now);
            }
          }
        }
      })
      .catch(function () { /* the next page load shows them */ });
  }

  function followAll() {
    document.querySelectorAll("[data-stream]").forEach(follow);
  }

  document.addEventListener("DOMContentLoaded", function () {
    followAll();
    document.body.addEventListener("htmx:afterSettle", followAll);
    // Delegated: boosted forms swap the page's body, so elements come and go.
    document.body.addEventListener("keydown", function (event) {
      const area = event.target;
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey) && area instanceof HTMLTextAreaElement
          && area.form !== null && area.form.hasAttribute("data-composer")) {
        event.preventDefault();
        area.form.requestSubmit();
      }
    });
    const messages = document.getElementById("messages");
    if (messages !== null) {
      messages.scrollIntoView({ block: "end" });
    }
  });
})();
