/* The platform's accessibility helpers (no inline script: served from our static files).
 * - The larger-text switch in the navbar (remembered in localStorage).
 * - Dialogs (Bootstrap modals such as the confirm box): focus moves in, Tab stays inside,
 *   Escape closes, and focus returns to what opened it.
 * - Labels for widgets that third-party scripts create without one (select2's search box). */
(function () {
  'use strict';
  var KEY = 'platform-text-size';
  var root = document.documentElement;

  function applyTextSize(large) {
    root.classList.toggle('text-large', large);
    var button = document.getElementById('text-size-toggle');
    if (button) {
      button.setAttribute('aria-pressed', large ? 'true' : 'false');
      button.textContent = large ? button.getAttribute('data-label-on') : button.getAttribute('data-label-off');
    }
  }

  function storedLarge() {
    try { return window.localStorage.getItem(KEY) === 'large'; } catch (e) { return false; }
  }

  applyTextSize(storedLarge());
  var toggle = document.getElementById('text-size-toggle');
  if (toggle) {
    toggle.addEventListener('click', function () {
      var large = !root.classList.contains('text-large');
      try { window.localStorage.setItem(KEY, large ? 'large' : 'normal'); } catch (e) { /* private mode */ }
      applyTextSize(large);
    });
  }

  var FOCUSABLE = 'a[href], button:not([disabled]), input:not([disabled]):not([type=hidden]), ' +
                  'select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex="-1"])';

  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }

  document.querySelectorAll('.modal').forEach(function (modal) {
    var opener = null;
    modal.setAttribute('aria-modal', 'true');
    var title = modal.querySelector('.modal-title');
    if (title) {
      if (!title.id) { title.id = (modal.id || 'dialog') + '-title'; }
      modal.setAttribute('aria-labelledby', title.id);
    }
    if (window.jQuery) {
      window.jQuery(modal).on('show.bs.modal', function () { opener = document.activeElement; });
      window.jQuery(modal).on('shown.bs.modal', function () {
        var first = Array.prototype.filter.call(modal.querySelectorAll(FOCUSABLE), visible)[0];
        if (first) { first.focus(); }
      });
      window.jQuery(modal).on('hidden.bs.modal', function () {
        if (opener && document.body.contains(opener)) { opener.focus(); }
        opener = null;
      });
    }
    modal.addEventListener('keydown', function (event) {
      if (event.key !== 'Tab') { return; }
      var items = Array.prototype.filter.call(modal.querySelectorAll(FOCUSABLE), visible);
      if (!items.length) { return; }
      var first = items[0], last = items[items.length - 1];
      if (event.shiftKey && document.activeElement === first) { last.focus(); event.preventDefault(); }
      else if (!event.shiftKey && document.activeElement === last) { first.focus(); event.preventDefault(); }
    });
  });

  /* Wide data tables scroll inside their own box (WCAG 1.4.10 allows it for tables), so at
   * 200% zoom or with larger text the page itself never scrolls sideways. The box can take
   * focus, so keyboard users can scroll it too. */
  document.querySelectorAll('main table').forEach(function (table) {
    var parent = table.parentElement;
    if (parent.classList.contains('table-responsive') || parent.classList.contains('table-scroll')) { return; }
    var box = document.createElement('div');
    box.className = 'table-scroll';
    parent.insertBefore(box, table);
    box.appendChild(table);
  });
  document.querySelectorAll('main .table-scroll, main .table-responsive').forEach(function (box) {
    box.setAttribute('tabindex', '0');
  });

  /* A table without its own caption is named by the page's heading above it, so a screen
   * reader's table list says what each table is. */
  var headings = Array.prototype.slice.call(document.querySelectorAll('main h1, main h2, main h3, main legend'));
  document.querySelectorAll('main table').forEach(function (table, index) {
    if (table.querySelector('caption') || table.hasAttribute('aria-label') || table.hasAttribute('aria-labelledby')) { return; }
    var before = headings.filter(function (h) {
      return h.compareDocumentPosition(table) & Node.DOCUMENT_POSITION_FOLLOWING;
    });
    var heading = before[before.length - 1];
    if (!heading) { return; }
    if (!heading.id) { heading.id = 'table-heading-' + index; }
    table.setAttribute('aria-labelledby', heading.id);
    var scroller = table.closest('.table-scroll, .table-responsive');
    if (scroller) { scroller.setAttribute('role', 'region'); scroller.setAttribute('aria-labelledby', heading.id); }
  });

  /* Every field error shown next to a field (class field-error, data-field = the field's
   * name) is tied to its input: aria-describedby and aria-invalid, in every form. */
  document.querySelectorAll('.field-error[data-field]').forEach(function (error, index) {
    var scope = error.closest('form') || document;
    var name = error.getAttribute('data-field');
    var input = Array.prototype.find.call(scope.querySelectorAll('input, select, textarea'), function (el) {
      return el.name === name && el.type !== 'hidden';
    });
    if (!input) { return; }
    var ids = (input.getAttribute('aria-describedby') || '').split(/\s+/).filter(Boolean);
    input.setAttribute('aria-invalid', 'true');
    var holder = error.parentElement && error.parentElement.closest('[id]');
    if (holder && ids.indexOf(holder.id) >= 0) { return; }  /* already tied by the template */
    if (!error.id) { error.id = 'field-error-' + index; }
    if (ids.indexOf(error.id) < 0) { ids.push(error.id); }
    input.setAttribute('aria-describedby', ids.join(' '));
    input.setAttribute('aria-invalid', 'true');
  });

  function labelSelect2() {
    document.querySelectorAll('.select2-search__field').forEach(function (input) {
      if (!input.getAttribute('aria-label')) {
        var box = input.closest('.form-group');
        var label = box && box.querySelector('label');
        input.setAttribute('aria-label', label ? label.textContent.trim() : (document.documentElement.lang === 'en' ? 'Search' : '搜索'));
      }
    });
    document.querySelectorAll('ul.select2-selection__rendered').forEach(function (list) {
      list.setAttribute('role', 'presentation');
    });
  }
  labelSelect2();
  if (window.MutationObserver) {
    new MutationObserver(labelSelect2).observe(document.body, { childList: true, subtree: true });
  }
})();
