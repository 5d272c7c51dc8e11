/* stand-in for gtag.js (captures/email): sends one GA4 page_view hit like the real loader does */
(function () {
  var u = "https://www.google-analytics.com/g/collect?v=2&tid=G-TEST12345&cid=555.666&en=page_view&dl=" +
    encodeURIComponent(location.href) + "&dt=" + encodeURIComponent(document.title);
  fetch(u, { method: "POST", mode: "no-cors", keepalive: true, credentials: "include" });
})();
