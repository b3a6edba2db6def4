() => {
  // Clicking a citation marker [n] brings its source card into view. Registered once, on the
  // document in the capture phase, so it works for messages rendered after load and before
  // the chatbot's own link handling (which would open "#..." in a new tab).
  if (window.__ragCiteHandler) return;
  window.__ragCiteHandler = true;
  document.addEventListener("click", (ev) => {
    const link = ev.target && ev.target.closest ? ev.target.closest("a.rag-cite") : null;
    if (!link) return;
    ev.preventDefault();
    ev.stopPropagation();
    const card = document.getElementById((link.getAttribute("href") || "").replace(/^#/, ""));
    if (!card) return;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
    card.classList.add("rag-flash");
    setTimeout(() => card.classList.remove("rag-flash"), 1800);
  }, true);
}
