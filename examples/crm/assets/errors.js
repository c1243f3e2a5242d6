// Collects uncaught errors, unhandled rejections, Content-Security-Policy violations and
// console.error calls into `window.__crmErrors`, so that the browser tests can check the
// page logged none.
// Loaded first, as a classic script.
(function () {
  var errors = [];
  window.__crmErrors = errors;
  window.addEventListener('error', function (event) {
    errors.push('error: ' + (event.message || String(event.error)));
  });
  window.addEventListener('unhandledrejection', function (event) {
    var reason = event.reason;
    errors.push('unhandled rejection: ' + (reason && reason.stack ? reason.stack : String(reason)));
  });
  document.addEventListener('securitypolicyviolation', function (event) {
    errors.push('csp: ' + event.violatedDirective + ' blocked ' + event.blockedURI);
  });
  var original = console.error;
  console.error = function () {
    errors.push('console.error: ' + Array.prototype.map.call(arguments, String).join(' '));
    return original.apply(console, arguments);
  };
})();
