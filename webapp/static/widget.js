/*! trialsearch widget: clinical-trial search for any web page. No dependencies.
 *
 *   <script src="https://SERVER/widget.js" data-trialsearch data-status="RECRUITING"></script>
 *
 * Every option is a data- attribute on that tag; https://SERVER/widget documents them all.
 * The widget renders into a Shadow DOM (styles isolated both ways), reads the JSON API of the
 * server it was loaded from, and follows the ARIA 1.2 combobox + listbox pattern: the options
 * hold no links (a link inside an option is a control inside a control, which screen readers
 * announce badly), so choosing one with Enter or a click navigates from the script.
 */
(() => {
  "use strict";

  const script = document.currentScript;
  if (!script) return; // only a classic <script src> tells us where it stands and its server
  const base = new URL(".", script.src); // the server, including any path it is mounted under
  const data = script.dataset;
  const MIN_CHARS = 2;
  const DEBOUNCE_MS = 200;

  // Label texts, one entry per language. `found` is [none, one, many]; {n}, {k}, {s}, {w} are
  // filled in. `nostatus` stands for a record without a status, unlike the registry's own
  // UNKNOWN status (shown as "Unknown").
  const LABELS = {
    en: {
      label: "Search clinical trials", placeholder: "Condition, treatment, sponsor or NCT ID",
      list: "Search results", found: ["No studies found", "1 study found", "{n} studies found"],
      top: "showing the first {k}", all: "See all results", dym: "Did you mean:",
      nostatus: "Status not given",
      plain: "Showing results for: {w}",
      meaning: "Matched by meaning", both: "Matched by words and meaning",
      denied: "This site is not allowed to use this search service.",
      down: "The search service cannot be reached. Please try again later.",
      failed: "The search failed (HTTP {s}).",
    },
    fr: {
      label: "Rechercher des essais cliniques", placeholder: "Maladie, traitement, promoteur ou numéro NCT",
      list: "Résultats de la recherche", found: ["Aucune étude trouvée", "1 étude trouvée", "{n} études trouvées"],
      top: "les {k} premières sont affichées", all: "Voir tous les résultats", dym: "Vouliez-vous dire :",
      nostatus: "Statut non précisé",
      plain: "Résultats pour : {w}",
      meaning: "Trouvée par le sens", both: "Trouvée par les mots et le sens",
      denied: "Ce site n’est pas autorisé à utiliser ce service de recherche.",
      down: "Le service de recherche est injoignable. Réessayez plus tard.",
      failed: "La recherche a échoué (HTTP {s}).",
    },
    es: {
      label: "Buscar ensayos clínicos", placeholder: "Enfermedad, tratamiento, patrocinador o NCT",
      list: "Resultados de la búsqueda", found: ["No se encontraron estudios", "1 estudio encontrado", "{n} estudios encontrados"],
      top: "se muestran los {k} primeros", all: "Ver todos los resultados", dym: "Quizás quiso decir:",
      nostatus: "Estado no indicado",
      plain: "Resultados para: {w}",
      meaning: "Encontrado por el significado", both: "Encontrado por las palabras y el significado",
      denied: "Este sitio no tiene permiso para usar este servicio de búsqueda.",
      down: "No se puede acceder al servicio de búsqueda. Inténtelo más tarde.",
      failed: "La búsqueda falló (HTTP {s}).",
    },
    de: {
      label: "Klinische Studien suchen", placeholder: "Erkrankung, Behandlung, Sponsor oder NCT-Nummer",
      list: "Suchergebnisse", found: ["Keine Studien gefunden", "1 Studie gefunden", "{n} Studien gefunden"],
      top: "die ersten {k} werden angezeigt", all: "Alle Ergebnisse anzeigen", dym: "Meinten Sie:",
      nostatus: "Status nicht angegeben",
      plain: "Ergebnisse für: {w}",
      meaning: "Nach Bedeutung gefunden", both: "Nach Wörtern und Bedeutung gefunden",
      denied: "Diese Website darf diesen Suchdienst nicht verwenden.",
      down: "Der Suchdienst ist nicht erreichbar. Bitte später erneut versuchen.",
      failed: "Die Suche ist fehlgeschlagen (HTTP {s}).",
    },
  };

  // :host rules are !important because, for important declarations, the shadow tree beats the
  // page: `* { display: inline !important; color: red !important }` there cannot reach us.
  // Sizes are in px, never rem, so the page's root font size cannot scale the widget either.
  const CSS = `
:host{all:initial!important;display:block!important;width:100%!important;max-width:640px!important}
.ts{--bg:#fff;--fg:#1f2328;--mute:#59636e;--line:#c8d1da;--acc:#0a58b8;--act:#e6effb;--mark:#fde68a;--err:#b42318;
box-sizing:border-box;display:block;padding:12px;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg);
font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;text-align:left}
.ts[data-theme=dark]{--bg:#161b22;--fg:#e6edf3;--mute:#9ea7b3;--line:#3d444d;--acc:#79b8ff;--act:#1c2b3f;--mark:#7a5d00;--err:#ff8a80}
*,::before,::after{box-sizing:inherit}
label{display:block;margin:0 0 6px;font-weight:600}
input{display:block;width:100%;margin:0;padding:8px 10px;border:1px solid var(--line);border-radius:6px;background:var(--bg);color:var(--fg);font:inherit}
input:focus{outline:3px solid var(--acc);outline-offset:1px}
ul{display:block;list-style:none;margin:8px 0 0;padding:0}
li{display:block;margin:0 0 2px;padding:6px 8px;border:2px solid transparent;border-radius:6px;cursor:pointer}
li:hover{background:var(--act)}
li[aria-selected=true]{border-color:var(--acc);background:var(--act)}
a,button,.title{color:var(--acc);font:inherit}
.title{display:block;font-weight:600}
li:hover .title,li[aria-selected=true] .title{text-decoration:underline}
mark{background:var(--mark);color:var(--fg);padding:0 1px;border-radius:2px}
.meta,.sum,p{display:block;margin:2px 0 0;color:var(--mute);font-size:13px}
.sum{display:-webkit-box;-webkit-line-clamp:2;-webkit-box-orient:vertical;overflow:hidden}
p,.all{margin:8px 0 0}
.all{display:block;font-size:13px}
.msg:empty,.notes:empty{margin:0}
.err{color:var(--err);font-weight:600}
button{padding:0;border:0;background:none;text-decoration:underline;cursor:pointer}
[hidden]{display:none!important}`;

  // -- options, from the script tag's data- attributes (invalid values fall back, with a warning)
  const warn = (name, value) => console.warn(`trialsearch widget: ignoring data-${name}="${value}"`);
  const choice = (name, allowed, fallback) => {
    const value = (data[name] || "").toLowerCase();
    if (allowed.includes(value)) return value;
    if (value) warn(name, value);
    return fallback;
  };
  // Each filter (whether it takes comma-separated values, the pattern a value matches), the
  // options' choices and the bounds on results: written here by the server as it serves this
  // file, from its own declarations (webapp/widget.py), so the two never disagree.
  const CONFIG = /*SERVER_CONFIGURATION*/null;
  const matcher = (pattern) => new RegExp(`^(?:${pattern})$`, "i");
  const values = (name, { list: many, pattern }) => {
    const test = matcher(pattern);
    const given = many ? (data[name] || "").split(",") : [data[name] || ""];
    return given.map((v) => v.trim()).filter((v) => {
      if (v && !test.test(v)) warn(name, v);
      return v && test.test(v);
    });
  };
  const whole = (name, low, high, fallback) => {
    const value = Number(data[name] || fallback);
    if (Number.isInteger(value) && value >= low && value <= high) return value;
    warn(name, data[name]);
    return fallback;
  };
  const field = (data.field || "all").toLowerCase();
  if (!/^[a-z_]{1,40}$/.test(field)) warn("field", field);
  const framed = window.top !== window.self;
  const pageLang = (document.documentElement.lang || "").slice(0, 2).toLowerCase();
  const options = {
    placeholder: data.placeholder,
    field: field !== "all" && /^[a-z_]{1,40}$/.test(field) ? field : "", // the API checks the name
    filters: Object.fromEntries(Object.entries(CONFIG.filters).map(([name, filter]) =>
      [name, values(name, filter)])),
    results: whole("results", 1, CONFIG.results.max, CONFIG.results.default),
    theme: choice("theme", CONFIG.choices.theme, CONFIG.choices.theme[0]),
    lang: choice("lang", CONFIG.choices.lang, CONFIG.choices.lang.includes(pageLang) ? pageLang : "en"),
    link: choice("link", CONFIG.choices.link, CONFIG.choices.link[0]),
    mode: choice("mode", CONFIG.choices.mode, ""), // "": the server's default
    // In an iframe (the /embed page) a link would load inside the frame: open a tab instead.
    newTab: data.newTab === undefined ? framed : data.newTab !== "false",
    q: data.q || "",
  };
  const t = LABELS[options.lang];
  const fill = (text, values) => text.replace(/\{(\w)\}/g, (_, key) => values[key]);

  // -- helpers ----------------------------------------------------------------------------
  const make = (tag, attributes = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    node.append(...children);
    return node;
  };
  const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
  const decode = (text) => text.replace(/&(#x[\da-f]+|#\d+|[a-z]+);/gi, (entity, name) => {
    if (name[0] !== "#") return ENTITIES[name.toLowerCase()] || entity;
    const code = name[1] === "x" || name[1] === "X" ? parseInt(name.slice(2), 16) : Number(name.slice(1));
    return code <= 0x10ffff ? String.fromCodePoint(code) : entity;
  });
  // Highlights are escaped record text with <mark> tags around matches. They are rebuilt from
  // text nodes and fresh <mark> elements, so record text is never parsed as HTML (and the widget
  // needs no innerHTML, which pages enforcing Trusted Types would refuse).
  const highlighted = (html, fallback) => {
    if (typeof html !== "string") return [String(fallback || "")];
    let inMark = false;
    const nodes = [];
    for (const part of html.split(/(<\/?mark\b[^>]*>)/i)) {
      if (/^<mark/i.test(part)) inMark = true;
      else if (/^<\/mark/i.test(part)) inMark = false;
      else if (part) nodes.push(inMark ? make("mark", {}, decode(part)) : decode(part));
    }
    return nodes;
  };
  const safeUrl = (url) => {
    try {
      const parsed = new URL(url, base);
      return /^https?:$/.test(parsed.protocol) ? parsed.href : null;
    } catch {
      return null;
    }
  };
  const humanize = (value) => value ? value[0] + value.slice(1).toLowerCase().replace(/_/g, " ") : "";
  const searchParams = (q, perPage) => {
    const params = new URLSearchParams({ q });
    if (options.field) params.set("field", options.field);
    if (options.mode) params.set("mode", options.mode);
    for (const [name, values] of Object.entries(options.filters)) {
      for (const value of values) params.append(name, value);
    }
    if (perPage) params.set("per_page", perPage);
    return params;
  };
  // The words of a query without its syntax, as the search page's plain_words() finds them.
  const plainWords = (q) => (q.match(/[\p{L}\p{N}]+(?:[-'][\p{L}\p{N}]+)*/gu) || [])
    .filter((w) => !["AND", "OR", "NOT", "TO"].includes(w.toUpperCase())).join(" ");
  const linkTarget = (link, newTab = options.newTab) => {
    if (newTab) Object.assign(link, { target: "_blank", rel: "noopener" });
    else if (framed) link.target = "_top";
  };

  // -- the widget -------------------------------------------------------------------------
  function render(host) {
    const root = host.attachShadow({ mode: "open" });
    if (root.adoptedStyleSheets) {
      // A constructed sheet is not subject to the page's CSP style-src, unlike a <style> element.
      const sheet = new CSSStyleSheet();
      sheet.replaceSync(CSS);
      root.adoptedStyleSheets = [sheet];
    } else {
      root.append(make("style", {}, CSS));
    }
    const input = make("input", {
      id: "q", type: "text", role: "combobox", "aria-autocomplete": "list", "aria-expanded": "false",
      "aria-controls": "list", autocomplete: "off", spellcheck: "false", enterkeyhint: "search",
      placeholder: options.placeholder || t.placeholder,
    });
    const listbox = make("ul", { id: "list", role: "listbox", "aria-label": t.list, hidden: "" });
    const status = make("p", { role: "status", "aria-live": "polite", class: "msg" });
    const suggestion = make("button", { type: "button" });
    const didYouMean = make("p", { hidden: "" }, t.dym + " ", suggestion);
    const notes = make("p", { class: "notes" });
    const all = make("a", { class: "all", hidden: "" }, t.all);
    const panel = make("div", { class: "ts", lang: options.lang, "data-theme": options.theme },
      make("label", { for: "q" }, t.label), input, listbox, status, didYouMean, notes, all);
    root.append(panel);
    if (options.theme === "auto") {
      const dark = matchMedia("(prefers-color-scheme: dark)");
      const apply = () => panel.setAttribute("data-theme", dark.matches ? "dark" : "light");
      dark.addEventListener("change", apply);
      apply();
    }
    linkTarget(all);

    let hrefs = []; // where each option leads, in order (null for an unsafe URL)
    let active = -1;
    let timer = 0;
    let controller = null;

    const expand = (open) => {
      const show = open && hrefs.length > 0;
      listbox.hidden = !show;
      input.setAttribute("aria-expanded", String(show));
      if (!show) activate(-1);
    };
    // The active option stays in the input's aria-activedescendant: focus never leaves the input.
    const activate = (index) => {
      listbox.children[active]?.setAttribute("aria-selected", "false");
      active = index;
      if (index < 0) return input.removeAttribute("aria-activedescendant");
      const option = listbox.children[index];
      option.setAttribute("aria-selected", "true");
      input.setAttribute("aria-activedescendant", option.id);
      option.scrollIntoView({ block: "nearest" });
    };
    const say = (text, isError = false) => {
      status.textContent = text;
      status.classList.toggle("err", isError);
    };
    // A detached link, clicked: the browser applies target and rel as for a link on the page.
    const open = (index, newTab) => {
      if (!hrefs[index]) return;
      const link = make("a", { href: hrefs[index] });
      linkTarget(link, newTab);
      link.click();
    };
    const clear = () => {
      hrefs = [];
      listbox.replaceChildren();
      expand(false);
      didYouMean.hidden = all.hidden = true;
      notes.textContent = "";
    };

    const show = (body, q, notice) => {
      clear();
      const results = Array.isArray(body.results) ? body.results : [];
      results.slice(0, options.results).forEach((hit, i) => {
        const title = make("span", { class: "title" }, ...highlighted(hit.highlights?.title, hit.title));
        const site = hit.nearest_site; // with data-near: the nearest site, and how far
        const distance = site && Number.isFinite(site.distance_km)
          ? `${site.distance_km.toLocaleString(options.lang)} km${site.city ? ` (${site.city})` : ""}` : "";
        // How it matched, when meaning had a part (as on the search page).
        const match = hit.matched_by === "meaning" ? t.meaning : hit.matched_by === "both" ? t.both : "";
        const meta = make("span", { class: "meta" }, [hit.nct_id, humanize(hit.status) || t.nostatus,
          hit.sponsor, distance, match].filter(Boolean).join(" · "));
        const summary = make("span", { class: "sum" }, ...highlighted(hit.highlights?.summary, ""));
        // Named by its whole text (no aria-labelledby): the name then says what the option shows.
        listbox.append(make("li", { id: `o${i}`, role: "option", "aria-selected": "false" },
          title, meta, summary));
        hrefs.push(safeUrl(options.link === "ctgov" ? hit.ctgov_url : hit.url));
      });
      const total = Number(body.total) || 0;
      const found = fill(t.found[Math.min(total, 2)], { n: total.toLocaleString(options.lang) });
      const more = total > hrefs.length && hrefs.length;
      say(more ? `${found}; ${fill(t.top, { k: hrefs.length })}.` : `${found}.`);
      if (body.suggestion) {
        suggestion.textContent = body.suggestion;
        didYouMean.hidden = false;
      }
      notes.textContent = [notice, ...(Array.isArray(body.notices) ? body.notices : [])].join(" ").trim();
      if (total > hrefs.length) {
        all.href = `${base.href}?${searchParams(q)}`;
        all.hidden = false;
      }
      expand(true);
    };

    const search = async () => {
      clearTimeout(timer);
      controller?.abort(); // a newer search (or a cleared box) makes any request in flight stale
      controller = null;
      const q = input.value.trim();
      if (q.length < MIN_CHARS) {
        clear();
        return say("");
      }
      const mine = controller = new AbortController();
      const get = async (text) => {
        const url = `${base.href}api/search?${searchParams(text, options.results)}`;
        const response = await fetch(url, { signal: mine.signal, credentials: "omit" });
        return [response, await response.json().catch(() => ({}))];
      };
      try {
        let [response, body] = await get(q);
        let notice = "";
        // A syntax slip (an unclosed quote while typing a phrase, an unknown field, syntax with
        // data-mode="semantic") is said, and the plain words searched meanwhile, as on the page.
        const words = response.status === 400 && /^(q|mode)$/.test(body.param) ? plainWords(q) : "";
        if (words && words !== q) {
          notice = `${body.error || ""} ${fill(t.plain, { w: words })}`;
          [response, body] = await get(words);
        }
        if (mine !== controller) return;
        if (response.ok) return show(body, q, notice);
        clear();
        const error = typeof body.error === "string" ? body.error : fill(t.failed, { s: response.status });
        say(error, true);
      } catch {
        if (mine !== controller) return; // aborted or superseded
        // A CORS refusal and an unreachable server reject alike. An opaque no-cors request
        // succeeds in the first case only, which tells the visitor which one it is.
        const reachable = await fetch(`${base.href}api/health`, {
          mode: "no-cors", cache: "no-store", credentials: "omit", signal: mine.signal,
        }).then(() => true, () => false);
        if (mine !== controller) return;
        clear();
        say(reachable ? t.denied : t.down, true);
      }
    };

    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(search, DEBOUNCE_MS);
    });
    input.addEventListener("keydown", (event) => {
      if (event.isComposing) return; // keys that belong to an input method (CJK and others)
      const n = hrefs.length;
      if (event.key === "ArrowDown" || event.key === "ArrowUp") {
        if (!n) return;
        event.preventDefault();
        if (listbox.hidden) expand(true);
        if (!event.altKey) {
          const step = event.key === "ArrowDown" ? 1 : -1;
          activate(active < 0 ? (step > 0 ? 0 : n - 1) : (active + step + n) % n);
        }
      } else if (event.key === "Enter") {
        event.preventDefault();
        if (active >= 0) open(active);
        else search();
      } else if (event.key === "Escape") {
        event.preventDefault();
        if (!listbox.hidden) expand(false);
        else if (input.value) {
          input.value = "";
          search();
        }
      }
    });
    input.addEventListener("focus", () => expand(true));
    // Keep the focus in the input when an option is pressed. A click opens the option, in a new
    // tab with Ctrl or Cmd held or with the middle button, as a link would.
    listbox.addEventListener("mousedown", (event) => event.preventDefault());
    const choose = (event) => {
      const option = event.target.closest("li");
      if (option && event.button < 2) {
        open([...listbox.children].indexOf(option),
          options.newTab || event.button === 1 || event.ctrlKey || event.metaKey);
      }
    };
    listbox.addEventListener("click", choose);
    listbox.addEventListener("auxclick", choose);
    suggestion.addEventListener("click", () => {
      input.value = suggestion.textContent;
      input.focus();
      search();
    });
    if (options.q) {
      input.value = options.q;
      search();
    }
  }

  // -- where it goes: into data-target, or right where the script tag stands ---------------
  const target = () => {
    try {
      return document.querySelector(data.target);
    } catch {
      return null; // an invalid selector is reported like a missing element
    }
  };
  const mount = () => {
    const host = document.createElement("div");
    host.className = "trialsearch-widget";
    if (data.target) {
      const place = target();
      if (!place) {
        return console.error(`trialsearch widget: no element matches data-target="${data.target}"`);
      }
      place.append(host);
    } else if (document.body.contains(script)) {
      script.after(host);
    } else {
      document.body.append(host); // a script in <head>: the end of the page
    }
    render(host);
  };
  // A target further down the page, or a script in <head>, needs the document parsed first.
  const ready = data.target ? target() : document.body?.contains(script);
  if (ready || document.readyState !== "loading") mount();
  else document.addEventListener("DOMContentLoaded", mount, { once: true });
})();
