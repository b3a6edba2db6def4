() => {
  // The page is Arabic first: lang/dir on <html>, and Gradio's own strings (upload area, API link,
  // like/dislike/copy) in Arabic through Gradio's i18n, by choosing its "ar" locale whatever the
  // browser's language (the custom keys come from launch(i18n=gr.I18n(...))).
  document.documentElement.setAttribute("lang", "ar");
  document.documentElement.setAttribute("dir", "rtl");
  const core = performance.getEntriesByType("resource").map((e) => e.name)
    .find((n) => /\/assets\/core-[^/]*\.js$/.test(n));
  if (core) {
    import(core).then((m) => {
      if (m.changeLocale) m.changeLocale("ar");
      // Gradio sets lang from the locale; keep dir with it
      setTimeout(() => document.documentElement.setAttribute("dir", "rtl"), 300);
    }).catch(() => {});
  }
  if (window.__ragCiteHandler) return;
  window.__ragCiteHandler = true;
  // Clicking a citation marker [n] brings its source card into view. Registered once, on the
  // document in the capture phase, so it works for messages rendered after load and before
  // the chatbot's own link handling (which would open "#..." in a new tab).
  const cardOf = (link) => document.getElementById((link.getAttribute("href") || "").replace(/^#/, ""));
  document.addEventListener("click", (ev) => {
    const link = ev.target && ev.target.closest ? ev.target.closest("a.rag-cite") : null;
    if (!link) return;
    ev.preventDefault();
    ev.stopPropagation();
    const card = cardOf(link);
    if (!card) return;
    card.scrollIntoView({ behavior: "smooth", block: "center" });
    card.classList.add("rag-flash");
    setTimeout(() => card.classList.remove("rag-flash"), 1800);
  }, true);
  // Hovering (or tapping: touch fires pointerover) a marker previews its cited passage.
  let tip = null, shownAt = 0;
  const hide = () => { if (tip) { tip.remove(); tip = null; } };
  const show = (link) => {
    const card = cardOf(link);
    if (!card) return;
    hide();
    shownAt = Date.now();
    tip = document.createElement("div");
    tip.className = "rag-preview";
    tip.setAttribute("role", "tooltip");
    tip.dir = card.dir || "rtl";
    const title = card.querySelector(".rag-title");
    const ctx = card.querySelector(".rag-context");
    const h = document.createElement("div");
    h.className = "rag-preview-title";
    h.textContent = title ? title.textContent : "";
    const body = document.createElement("div");
    body.textContent = ctx ? ctx.textContent : "";
    tip.append(h, body);
    document.body.appendChild(tip);
    const r = link.getBoundingClientRect();
    const w = tip.offsetWidth, hgt = tip.offsetHeight;
    let left = Math.min(Math.max(8, r.left + r.width / 2 - w / 2), window.innerWidth - w - 8);
    let top = r.top - hgt - 8;
    if (top < 8) top = r.bottom + 8;
    tip.style.left = `${left}px`;
    tip.style.top = `${top}px`;
  };
  document.addEventListener("pointerover", (ev) => {
    const link = ev.target && ev.target.closest ? ev.target.closest("a.rag-cite") : null;
    if (link) show(link);
  });
  document.addEventListener("pointerout", (ev) => {
    const link = ev.target && ev.target.closest ? ev.target.closest("a.rag-cite") : null;
    if (link) setTimeout(() => { if (Date.now() - shownAt > 1500) hide(); }, 1600);
  });
  document.addEventListener("focusin", (ev) => {
    if (ev.target.matches && ev.target.matches("a.rag-cite")) show(ev.target);
  });
  // scrolling away hides it (not the scroll that brought the marker into view)
  window.addEventListener("scroll", () => { if (Date.now() - shownAt > 600) hide(); }, true);
}
