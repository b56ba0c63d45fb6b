/* valkit report, HTML twin only: sortable and filterable subgroup and site tables, collapsible sections,
   a contents sidebar that follows the reader. Plain JavaScript, inlined, no network; the PDF never has it.
   Without JavaScript the page still reads in full: every section open, tables in report order. */
(function () {
  "use strict";
  // the tables a reader may sort and filter: per-level results of the subgroup and site sections
  var SORTABLE = "#subgroups-and-fairness table.levels, #sites-and-scanners table.levels";
  // a section collapses when its first child is its heading
  var COLLAPSIBLE = "main > section.section, section.control, nav.contents";
  var uid = 0;

  function text(el) { return (el.textContent || "").replace(/\s+/g, " ").trim(); }

  // the number a cell starts with ("85.2%", "0.912 0.85–0.95", "12 345"); null for words ("insufficient evidence")
  function cellNumber(s) {
    var m = /^[-\u2212]?\d[\d\u202f\u00a0 ]*(?:\.\d+)?/.exec(s.replace(/^[<>≤≥~]\s*/, ""));
    if (!m) { return null; }
    var v = parseFloat(m[0].replace(/[\u202f\u00a0 ]/g, "").replace("\u2212", "-"));
    return isNaN(v) ? null : v;
  }

  // the cell of each row at logical column `col`, minding colspans; null where a spanning cell covers it
  function cellAt(row, col) {
    var pos = 0;
    for (var i = 0; i < row.cells.length; i++) {
      var c = row.cells[i], span = c.colSpan || 1;
      if (col < pos + span) { return span === 1 ? c : null; }
      pos += span;
    }
    return null;
  }

  // a cell's own value: its text up to a line break or its CI (a stacked cell is "85.1%<br>74.2–94.2%")
  function valueText(cell) {
    var out = "";
    for (var n = cell.firstChild; n; n = n.nextSibling) {
      if (n.nodeType === 1 && (n.tagName === "BR" || n.classList.contains("ci"))) { break; }
      out += n.textContent;
    }
    return out.replace(/\s+/g, " ").trim();
  }

  function sortKey(row, col, numeric) {
    var c = cellAt(row, col);
    if (!c) { return null; }
    var s = valueText(c);
    return numeric ? cellNumber(s) : (s === "" ? null : s);
  }

  function sortBy(table, col, numeric, descending) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var ka = sortKey(a, col, numeric), kb = sortKey(b, col, numeric);
      if (ka === null || kb === null) {  // no value (insufficient evidence, empty): always last
        if (ka === kb) { return a._vkOrder - b._vkOrder; }
        return ka === null ? 1 : -1;
      }
      var d = numeric ? ka - kb : String(ka).localeCompare(String(kb), undefined, {numeric: true});
      if (d === 0) { return a._vkOrder - b._vkOrder; }
      return descending ? -d : d;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }

  function makeSortable(table) {
    if (!table.tHead || table.tBodies.length !== 1 || table.tHead.rows.length !== 1) { return false; }
    var body = table.tBodies[0];
    Array.prototype.forEach.call(body.rows, function (r, i) { r._vkOrder = i; });
    var heads = table.tHead.rows[0].cells, col = 0;
    Array.prototype.forEach.call(heads, function (th) {
      var myCol = col, numeric = th.classList.contains("num");
      col += th.colSpan || 1;
      var button = document.createElement("button");
      button.type = "button";
      button.className = "sort-button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      var arrow = document.createElement("span");
      arrow.className = "sort-arrow";
      arrow.setAttribute("aria-hidden", "true");
      button.appendChild(arrow);
      button.title = "Sort by this column";
      th.appendChild(button);
      button.addEventListener("click", function () {
        var descending = th.getAttribute("aria-sort") === "ascending";
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", descending ? "descending" : "ascending");
        sortBy(table, myCol, numeric, descending);
        announce(table, "Sorted by " + text(button) + ", " + (numeric ? (descending ? "highest first" : "lowest first") +
                 "; rows without an estimate stay last." : (descending ? "Z to A." : "A to Z.")));
      });
    });
    return true;
  }

  function announce(table, message) {
    var status = table._vkStatus;
    if (status) { status.textContent = message; }
  }

  function makeFilterable(table) {
    var tools = document.createElement("div");
    tools.className = "table-tools";
    var id = "vk-filter-" + (++uid);
    var label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = "Filter rows";
    var input = document.createElement("input");
    input.type = "search";
    input.id = id;
    input.className = "table-filter";
    input.autocomplete = "off";
    var caption = table.caption ? text(table.caption.querySelector(".caption-label") || table.caption) : "the table";
    input.setAttribute("aria-label", "Filter the rows of " + caption);
    var status = document.createElement("span");
    status.className = "table-status";
    status.setAttribute("role", "status");
    status.setAttribute("aria-live", "polite");
    tools.appendChild(label);
    tools.appendChild(input);
    tools.appendChild(status);
    table.parentNode.insertBefore(tools, table);
    table._vkStatus = status;
    var rows = table.tBodies[0].rows;
    input.addEventListener("input", function () {
      var q = input.value.toLowerCase().trim(), shown = 0;
      Array.prototype.forEach.call(rows, function (r) {
        var hit = q === "" || text(r).toLowerCase().indexOf(q) !== -1;
        r.hidden = !hit;
        if (hit) { shown++; }
      });
      status.textContent = q === "" ? "" : shown + " of " + rows.length + " rows shown";
    });
  }

  function setOpen(section, open) {
    section.classList.toggle("collapsed", !open);
    var b = section._vkToggle;
    if (b) { b.setAttribute("aria-expanded", open ? "true" : "false"); }
  }

  function makeCollapsible(section) {
    var h = section.firstElementChild;
    if (!h || h.tagName !== "H1" || !section.id) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "collapse-toggle";
    button.setAttribute("aria-expanded", "true");
    button.setAttribute("aria-controls", section.id);
    while (h.firstChild) { button.appendChild(h.firstChild); }
    h.appendChild(button);
    section._vkToggle = button;
    button.addEventListener("click", function () { setOpen(section, section.classList.contains("collapsed")); });
  }

  // a link into a collapsed section opens it first
  function reveal(id) {
    var el = id && document.getElementById(id);
    while (el) {
      if (el._vkToggle && el.classList.contains("collapsed")) { setOpen(el, true); }
      el = el.parentElement;
    }
  }

  function sidebar() {
    var nav = document.getElementById("report-sidebar");
    if (!nav) { return; }
    var sections = document.querySelectorAll(COLLAPSIBLE);
    nav.querySelector(".expand-all").addEventListener("click", function () {
      Array.prototype.forEach.call(sections, function (s) { setOpen(s, true); });
    });
    nav.querySelector(".collapse-all").addEventListener("click", function () {
      Array.prototype.forEach.call(sections, function (s) { setOpen(s, false); });
    });
    var links = {};
    Array.prototype.forEach.call(nav.querySelectorAll("a[href^='#']"), function (a) {
      links[a.getAttribute("href").slice(1)] = a;
    });
    if (!("IntersectionObserver" in window)) { return; }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (e) {
        var a = links[e.target.id];
        if (!a || !e.isIntersecting) { return; }
        Object.keys(links).forEach(function (k) { links[k].removeAttribute("aria-current"); });
        a.setAttribute("aria-current", "location");
      });
    }, {rootMargin: "0px 0px -70% 0px"});
    Object.keys(links).forEach(function (k) {
      var target = document.getElementById(k);
      if (target) { observer.observe(target); }
    });
  }

  function init() {
    document.documentElement.classList.add("js");
    Array.prototype.forEach.call(document.querySelectorAll(COLLAPSIBLE), makeCollapsible);
    Array.prototype.forEach.call(document.querySelectorAll(SORTABLE), function (t) {
      if (makeSortable(t)) { makeFilterable(t); t.classList.add("interactive-table"); }
    });
    document.addEventListener("click", function (e) {
      var a = e.target.closest && e.target.closest("a[href^='#']");
      if (a) { reveal(a.getAttribute("href").slice(1)); }
    });
    window.addEventListener("hashchange", function () { reveal(location.hash.slice(1)); });
    reveal(location.hash.slice(1));
    sidebar();
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", init); } else { init(); }
}());
