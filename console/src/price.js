/** Prices as the widget shows them (currency from the catalog, default USD). */

export function formatPrice(amount, currency) {
  const value = Number(amount);
  if (!Number.isFinite(value)) return "";
  const code = typeof currency === "string" && /^[A-Za-z]{3}$/.test(currency) ? currency.toUpperCase() : "USD";
  try {
    return new Intl.NumberFormat(navigator.language || "en-US", { style: "currency", currency: code }).format(value);
  } catch (_) {
    return `${value.toFixed(2)} ${code}`;
  }
}
