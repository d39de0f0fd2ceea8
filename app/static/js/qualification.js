/* Small behaviours of the qualification pages, kept out of the HTML (no inline script):
 * - 全选: a checkbox with data-select-all="NAME" ticks every enabled checkbox named NAME
 *   (the rows of the same table, or the rows joined to the same form through form="…").
 * - Live 最小包装规格 / 中包装规格 while 新增包装 / 编辑 is filled in: an element with
 *   data-spec="pack" or data-spec="mid" inside a form shows ratio + unit / unit. */
(function () {
  'use strict';

  function rowsFor(master) {
    var name = master.getAttribute('data-select-all');
    var scope = master.closest('table') || document;
    var boxes = scope.querySelectorAll('input[type=checkbox][name="' + name + '"]');
    return Array.prototype.filter.call(boxes, function (b) { return !b.disabled; });
  }

  function syncMaster(master) {
    var boxes = rowsFor(master);
    var ticked = boxes.filter(function (b) { return b.checked; }).length;
    master.checked = boxes.length > 0 && ticked === boxes.length;
    master.indeterminate = ticked > 0 && ticked < boxes.length;
  }

  function plainInteger(text) {
    if (!text) { return null; }
    var s = String(text).normalize ? String(text).normalize('NFKC').trim() : String(text).trim();
    return /^[0-9]+$/.test(s) && parseInt(s, 10) >= 1 ? parseInt(s, 10) : null;
  }

  function value(form, name) {
    var el = form.querySelector('[name="' + name + '"]');
    return el ? el.value : '';
  }

  function updateSpecs(form) {
    var pack = form.querySelector('[data-spec="pack"]');
    var mid = form.querySelector('[data-spec="mid"]');
    var ratio = plainInteger(value(form, 'pack_ratio'));
    var minUnit = value(form, 'min_unit');
    var packUnit = value(form, 'pack_unit');
    var midUnit = value(form, 'mid_unit');
    var midRatio = plainInteger(value(form, 'mid_ratio'));
    if (pack) { pack.textContent = ratio && minUnit && packUnit ? ratio + minUnit + '/' + packUnit : '—'; }
    if (mid) { mid.textContent = midRatio && packUnit && midUnit ? midRatio + packUnit + '/' + midUnit : '—'; }
  }

  document.addEventListener('DOMContentLoaded', function () {
    Array.prototype.forEach.call(document.querySelectorAll('[data-select-all]'), function (master) {
      master.addEventListener('change', function () {
        rowsFor(master).forEach(function (b) { b.checked = master.checked; });
      });
      rowsFor(master).forEach(function (b) {
        b.addEventListener('change', function () { syncMaster(master); });
      });
      syncMaster(master);
    });
    Array.prototype.forEach.call(document.querySelectorAll('form'), function (form) {
      if (!form.querySelector('[data-spec]')) { return; }
      form.addEventListener('input', function () { updateSpecs(form); });
      form.addEventListener('change', function () { updateSpecs(form); });
      updateSpecs(form);
    });
  });
}());
