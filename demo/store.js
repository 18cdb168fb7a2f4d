// Trailhead Outfitters demo store: renders /catalog.json into the product grid.
(function () {
  "use strict";

  var CATEGORY_NAMES = {
    running_shoes: "Running shoes",
    hiking_boots: "Hiking boots",
    jackets: "Jackets",
    backpacks: "Backpacks",
    tents: "Tents",
    sleeping_bags: "Sleeping bags",
    accessories: "Accessories",
  };
  var money = currencyFormat("USD");

  function currencyFormat(code) {
    try {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: code });
    } catch (e) {
      return new Intl.NumberFormat("en-US", { style: "currency", currency: "USD" });
    }
  }

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function categoryName(category) {
    return CATEGORY_NAMES[category] || String(category || "").replace(/_/g, " ");
  }

  function safeImage(src) {
    try {
      var url = new URL(src, location.origin);
      return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
    } catch (e) {
      return null;
    }
  }

  function productCard(p, withAnchor) {
    var li = el("li", "product");
    if (withAnchor) li.id = "product-" + p.id;
    li.dataset.category = p.category || "";

    var media = el("div", "product-media");
    var src = safeImage("/static/products/" + encodeURIComponent(p.category || "accessories") + ".svg");
    if (p.image) src = safeImage(p.image) || src;
    var img = el("img");
    img.src = src;
    img.alt = "";
    img.loading = "lazy";
    img.width = 160;
    img.height = 120;
    media.appendChild(img);
    if (p.new_arrival) media.appendChild(el("span", "tag", "New"));
    var discount = Number(p.discount_percent) || 0;
    if (discount > 0) media.appendChild(el("span", "tag sale", "−" + discount + "%"));
    li.appendChild(media);

    var body = el("div", "product-body");
    body.appendChild(el("p", "product-cat", categoryName(p.category)));
    body.appendChild(el("h3", null, p.name));
    if (p.description) body.appendChild(el("p", "product-desc", p.description));
    var meta = [];
    if (Array.isArray(p.colors) && p.colors.length) meta.push("Colors: " + p.colors.join(", "));
    if (Array.isArray(p.sizes) && p.sizes.length) meta.push("Sizes: " + p.sizes.join(", "));
    if (meta.length) body.appendChild(el("p", "product-meta", meta.join(" · ")));

    var price = el("p", "price");
    var amount = Number(p.price);
    if (discount > 0 && isFinite(amount)) {
      price.appendChild(el("span", "sr-only", "Now "));
      price.appendChild(el("span", "now", money.format(amount * (1 - discount / 100))));
      price.appendChild(el("span", "sr-only", ", was "));
      price.appendChild(el("s", null, money.format(amount)));
    } else if (isFinite(amount)) {
      price.textContent = money.format(amount);
    }
    body.appendChild(price);
    if (withAnchor && isFinite(amount)) body.appendChild(buyButton(p, discount > 0 ? amount * (1 - discount / 100) : amount));
    li.appendChild(body);
    return li;
  }

  // A stand-in checkout: reports the purchase as a conversion goal, the way a
  // real shop's thank-you page would (docs/analytics.md, Rapport.track).
  function buyButton(p, amount) {
    var button = el("button", "buy", "Buy now");
    button.type = "button";
    var note = el("p", "buy-status");
    note.setAttribute("role", "status");
    button.addEventListener("click", function () {
      var orderId = "DEMO-" + Date.now().toString(36) + "-" + Math.random().toString(36).slice(2, 8);
      if (!window.Rapport || !window.Rapport.track) { note.textContent = "Checkout is not available."; return; }
      button.disabled = true;
      window.Rapport.track("purchase", { value: Math.round(amount * 100) / 100, currency: "USD", order_id: orderId })
        .then(function () { note.textContent = "Thank you! Order " + orderId + " placed."; })
        .catch(function (error) { note.textContent = "Could not place the order: " + error.message; })
        .then(function () { button.disabled = false; });
    });
    var wrap = el("div", "buy-row");
    wrap.appendChild(button);
    wrap.appendChild(note);
    return wrap;
  }

  function render(products) {
    var grid = document.getElementById("grid");
    var newGrid = document.getElementById("new-grid");
    var filters = document.getElementById("filters");
    var status = document.getElementById("catalog-status");
    status.textContent = products.length ? "" : "No products yet.";

    products.forEach(function (p) {
      grid.appendChild(productCard(p, true));
      if (p.new_arrival) newGrid.appendChild(productCard(p, false));
    });

    var categories = [];
    products.forEach(function (p) {
      if (p.category && categories.indexOf(p.category) === -1) categories.push(p.category);
    });
    var chips = [];
    function select(category) {
      chips.forEach(function (chip) {
        chip.setAttribute("aria-pressed", String(chip.dataset.category === category));
      });
      Array.prototype.forEach.call(grid.children, function (card) {
        card.hidden = category !== "" && card.dataset.category !== category;
      });
    }
    [""].concat(categories).forEach(function (category) {
      var chip = el("button", "chip", category ? categoryName(category) : "All");
      chip.type = "button";
      chip.dataset.category = category;
      chip.addEventListener("click", function () { select(category); });
      chips.push(chip);
      filters.appendChild(chip);
    });
    select("");
    showTarget();
  }

  // Product links ("/#product-<id>", e.g. from the chat's cards) point here;
  // the grid is rendered after load, so scroll to the target ourselves.
  function showTarget() {
    var match = /^#product-(.+)$/.exec(location.hash);
    if (!match) return;
    var card = document.getElementById("product-" + decodeURIComponent(match[1]));
    if (!card) return;
    card.hidden = false;
    document.querySelectorAll(".product.highlight").forEach(function (c) { c.classList.remove("highlight"); });
    card.classList.add("highlight");
    card.scrollIntoView({ behavior: "smooth", block: "center" });
  }
  window.addEventListener("hashchange", showTarget);

  fetch("/catalog.json", { headers: { Accept: "application/json" } })
    .then(function (response) {
      if (!response.ok) throw new Error("HTTP " + response.status);
      return response.json();
    })
    .then(function (data) {
      var products = Array.isArray(data) ? data : (data && Array.isArray(data.products) ? data.products : []);
      if (data && typeof data.currency === "string") money = currencyFormat(data.currency);
      render(products);
    })
    .catch(function () {
      document.getElementById("catalog-status").textContent = "Products could not be loaded. Please try again later.";
    });
})();
