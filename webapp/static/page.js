/* trialsearch search page: place suggestions as you type, "use my location", and the filters
 * panel on narrow screens. The page works without this script: the place box takes a typed
 * name, and the Filters link jumps to the filters. */
(() => {
  "use strict";

  // -- place suggestions: the server's /api/places, into the box's <datalist> -----------------
  const near = document.getElementById("near");
  const list = document.getElementById("place-list");
  if (near && list && near.dataset.places) {
    let timer = 0;
    let controller = null;
    near.addEventListener("input", () => {
      clearTimeout(timer);
      const typed = near.value.trim();
      if (typed.length < 2 || /^[-\d.,\s]+$/.test(typed)) return list.replaceChildren();
      timer = setTimeout(async () => {
        controller?.abort();
        controller = new AbortController();
        try {
          const url = `${near.dataset.places}?${new URLSearchParams({ q: typed, limit: 8 })}`;
          const response = await fetch(url, { signal: controller.signal });
          if (!response.ok) return;
          const body = await response.json();
          const places = Array.isArray(body) ? body : body.places || [];
          list.replaceChildren(...places.map((place) => {
            const option = document.createElement("option");
            option.value = place.label;
            return option;
          }));
        } catch {
          // aborted by newer typing, or the server is unreachable: no suggestions
        }
      }, 150);
    });
  }

  // -- "use my location": the browser's geolocation, as latitude,longitude ------------------
  const locate = document.querySelector(".use-location");
  if (locate && near && "geolocation" in navigator) {
    locate.hidden = false;
    locate.addEventListener("click", () => {
      locate.disabled = true;
      navigator.geolocation.getCurrentPosition((position) => {
        const { latitude, longitude } = position.coords;
        near.value = `${latitude.toFixed(3)},${longitude.toFixed(3)}`;
        locate.disabled = false;
      }, () => {
        locate.disabled = false;
        near.setCustomValidity("Your location is not available; type a city instead.");
        near.reportValidity();
        near.setCustomValidity("");
      }, { timeout: 10000, maximumAge: 600000 });
    });
  }

  // -- the filters panel: on a narrow screen it opens over the results ------------------------
  const panel = document.getElementById("filters");
  const opener = document.querySelector(".filters-link");
  const closer = document.querySelector(".facets-close");
  const narrow = window.matchMedia("(max-width: 760px)");
  if (panel && opener) {
    opener.setAttribute("aria-expanded", "false");
    const show = (open) => {
      panel.classList.toggle("open", open);
      opener.setAttribute("aria-expanded", String(open));
      document.body.classList.toggle("filters-open", open);
      (open ? panel : opener).focus();
    };
    opener.addEventListener("click", (event) => {
      if (!narrow.matches) return; // beside the results: the link just jumps there
      event.preventDefault();
      show(!panel.classList.contains("open"));
    });
    closer?.addEventListener("click", (event) => {
      if (!narrow.matches) return;
      event.preventDefault();
      show(false);
    });
    panel.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && panel.classList.contains("open")) show(false);
    });
  }
})();
