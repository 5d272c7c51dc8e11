/* stand-in for Criteo's publishertag.js (captures/email): one user-sync image, as the real tag does */
(function () {
  var i = new Image(1, 1);
  i.src = "https://gum.criteo.com/sync?c=42&r=2&a=1&u=" + encodeURIComponent(location.href);
  document.body ? document.body.appendChild(i) : document.addEventListener("DOMContentLoaded", function () { document.body.appendChild(i); });
})();
