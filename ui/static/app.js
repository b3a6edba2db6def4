() => {
  // The page is Arabic first, whatever the browser's language.
  document.documentElement.setAttribute("lang", "ar");
  document.documentElement.setAttribute("dir", "rtl");
  // 1. Gradio's own strings that have i18n keys (upload area, "Use via API", like/dislike/copy,
  // toasts) come from its "ar" locale, completed and corrected by launch(i18n=gr.I18n(...))
  // (ui.app.GRADIO_I18N). Gradio 6.31 takes the locale from navigator.language only: no Blocks or
  // launch option sets it, no URL parameter, and client-side rendering ignores Accept-Language.
  // Its own Settings panel switches locale with changeLocale, exported by its core module; we
  // call the same (a no-op for an Arabic browser).
  const core = performance.getEntriesByType("resource").map((e) => e.name)
    .find((n) => /\/assets\/core-[^/]*\.js$/.test(n));
  if (core) {
    import(core).then((m) => {
      if (m.changeLocale) m.changeLocale("ar");
      // Gradio sets lang from the locale; keep dir with it
      setTimeout(() => document.documentElement.setAttribute("dir", "rtl"), 300);
    }).catch(() => {});
  }
  // 2. Strings Gradio 6.31 writes as literals in its components (no i18n key, so no locale or
  // gr.I18n reaches them): a label, title or placeholder, or a text, equal to one is put in
  // Arabic where it appears. Only these exact strings are touched; message content never is.
  const LITERAL = {
    "Toggle Sidebar": "أظهر اللوحة الجانبية أو أخفها", "More tabs": "تبويبات أخرى",
    "chatbot conversation": "المحادثة", "Copy conversation": "انسخ المحادثة",
    "Copied conversation": "نُسخت المحادثة", "Liked": "أعجبني", "Disliked": "لم يعجبني",
    "Feedback": "تقييم", "Scroll down": "انزل إلى آخر المحادثة", "Loading response": "يُعدّ الجواب",
    "Example attachments": "مرفقات المثال", "Click to upload or drop files": "انقر لرفع ملفات أو أفلتها هنا",
    "File upload": "رفع ملف", "Upload file": "ارفع ملفًا", "Paste from clipboard": "الصق من الحافظة",
    "Empty value": "لا قيمة", "Gradio footer navigation": "روابط أسفل الصفحة",
    "Table actions": "أدوات الجدول", "Filter...": "صفِّ…", "Search...": "ابحث…",
    "Enter text to filter the table": "اكتب نصًا لتصفية الجدول", "Enter text to search the table": "اكتب نصًا للبحث في الجدول",
    "Copy table data": "انسخ بيانات الجدول", "Copied to clipboard": "نُسخ", "Fullscreen": "ملء الشاشة",
    "Exit fullscreen mode": "الخروج من ملء الشاشة", "Open cell menu": "افتح قائمة الخلية",
    "Edit cell": "عدّل الخلية", "Cell is read-only": "خلية للقراءة فقط", "Static column": "عمود ثابت",
    "Filtered": "مصفّى", "Sorted ascending": "مرتّب تصاعديًا", "Sorted descending": "مرتّب تنازليًا",
    "Apply filter and update dataframe values": "طبّق التصفية", "Type a value": "اكتب قيمة",
    "Add row above": "أضف صفًا فوقه", "Add row below": "أضف صفًا تحته", "Add row": "أضف صفًا",
    "Add column to the left": "أضف عمودًا إلى اليسار", "Add column to the right": "أضف عمودًا إلى اليمين",
    "Delete row": "احذف الصف", "Delete column": "احذف العمود",
    // i18n values Gradio's status announcer (a screen-reader live region) computed before the
    // switch to "ar" above and keeps as text
    "Loading": "جاري التحميل", "Complete": "اكتمل", "Error": "خطأ",
  };
  // Labels Gradio builds around a value: the prefix is put in Arabic, the value kept. A message's
  // label holds our HTML as text; it is given the message's own text instead.
  const PATTERN = [
    [/^Select example (\d+): /, (m) => `اختر المثال ${m[1]}: `],
    [/^File: /, () => "ملف: "],
    [/^Select (\d+)$/, (m) => `اختر ${m[1]}`],
  ];
  const MESSAGE = /^(user|bot|assistant)'s message: /;
  const ATTRS = ["aria-label", "title", "placeholder"];
  const arabic = (el, value) => {
    if (!value) return null;
    if (Object.prototype.hasOwnProperty.call(LITERAL, value)) return LITERAL[value];
    const msg = value.match(MESSAGE);
    if (msg) {
      const text = (el.textContent || "").replace(/\s+/g, " ").trim();
      return `${msg[1] === "user" ? "سؤالك" : "جواب المساعد"}: ${text.length > 160 ? text.slice(0, 160) + "…" : text}`;
    }
    for (const [re, to] of PATTERN) {
      const m = value.match(re);
      if (m) return to(m) + value.slice(m[0].length);
    }
    return null;
  };
  const fixElement = (el) => {
    for (const a of ATTRS) {
      const to = el.hasAttribute(a) ? arabic(el, el.getAttribute(a)) : null;
      if (to !== null) el.setAttribute(a, to);
    }
  };
  const fixText = (node) => {
    const t = node.nodeValue.trim();
    if (t && Object.prototype.hasOwnProperty.call(LITERAL, t)) node.nodeValue = node.nodeValue.replace(t, LITERAL[t]);
  };
  const fixTree = (root) => {
    if (root.nodeType === Node.TEXT_NODE) return fixText(root);
    if (root.nodeType !== Node.ELEMENT_NODE) return;
    fixElement(root);
    for (const el of root.querySelectorAll("[aria-label], [title], [placeholder]")) fixElement(el);
    const walk = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let n = walk.nextNode(); n; n = walk.nextNode()) fixText(n);
  };
  if (!window.__ragLiterals) {
    window.__ragLiterals = true;
    fixTree(document.body);
    new MutationObserver((records) => {
      for (const r of records) {
        if (r.type === "attributes") fixElement(r.target);
        else if (r.type === "characterData") fixText(r.target);
        else r.addedNodes.forEach(fixTree);
      }
    }).observe(document.body, { subtree: true, childList: true, characterData: true,
                                attributes: true, attributeFilter: ATTRS });
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
