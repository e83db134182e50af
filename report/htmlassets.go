package report

// pageCSS styles the HTML report and the index. Colours are the Okabe–Ito
// palette (blue #0072B2, vermillion #D55E00, orange #E69F00, sky blue
// #56B4E9, bluish green #009E73, reddish purple #CC79A7, black), which
// stays distinguishable with the common colour-vision deficiencies; every
// series also differs by shape, position or label.
const pageCSS = `
:root{color-scheme:light}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;color:#1b1b1b;background:#fff;margin:0 auto;max-width:1180px;padding:0 20px 40px}
h1{font-size:1.6em;margin:.8em 0 .3em}
h2{font-size:1.3em;margin:1.6em 0 .4em;padding-top:.4em;border-top:1px solid #ddd}
h3{font-size:1.05em;margin:1em 0 .3em}
h4{font-size:.95em;margin:.8em 0 .2em}
code{font:.92em ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace;background:#f1f3f5;padding:0 .25em;border-radius:3px}
a{color:#0060a0}
ul.files,ul.facts{margin:.2em 0;padding-left:1.2em;color:#333}
ul.facts li{font-weight:600}
nav{margin:.8em 0;font-size:.95em}
.intro{max-width:75em;color:#333}
.note{color:#444;font-size:.92em;font-style:italic}
.finding{border:1px solid #ccc;border-left:8px solid #888;border-radius:4px;padding:.3em 1em .6em;margin:.8em 0;background:#fcfcfc}
.finding h3{margin:.4em 0 0}
.finding .meta{margin:.1em 0;color:#444;font-size:.92em}
.finding .what{font-weight:600}
.finding ul{margin:.2em 0;padding-left:1.3em}
.badge{display:inline-block;font-size:.8em;font-weight:700;letter-spacing:.05em;padding:.05em .5em;border-radius:3px;vertical-align:1px}
.kind{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono",monospace}
.sev-critical{border-left-color:#D55E00}.sev-critical .badge{background:#D55E00;color:#fff}
.sev-warning{border-left-color:#E69F00}.sev-warning .badge{background:#E69F00;color:#000}
.sev-info{border-left-color:#56B4E9}.sev-info .badge{background:#56B4E9;color:#000}
.sev-none .badge{background:#009E73;color:#fff}
.fig{margin:1em 0 1.4em}
.fig figcaption{font-weight:600}
.multiples{display:grid;grid-template-columns:repeat(auto-fill,minmax(500px,1fr));gap:4px 18px}
.legend{list-style:none;margin:.3em 0;padding:0;font-size:.9em;display:flex;flex-wrap:wrap;gap:.2em 1.2em}
.legend li{display:flex;align-items:center;gap:.3em}
.legend .count{color:#555}
.plot{overflow-x:auto}
svg{font-family:inherit}
svg.chart{display:block;max-width:100%;height:auto}
.grid line{stroke:#e4e4e4}
.grid .band{fill:#f3f5f8}
.axis path,.axis line{stroke:#444;fill:none}
.axis text{fill:#222}
.axis .label{font-weight:600}
.s .lbl{fill:currentColor;font-size:11px}
.s rect{fill:currentColor}
.s .mk{fill:currentColor;stroke:currentColor;stroke-width:1.5}
.s .h{fill:#fff}
.s .ln{stroke:currentColor;fill:none;stroke-width:1.5}
.s .st{stroke:currentColor;fill:none;stroke-width:2.2}
.dash .ln{stroke-dasharray:5 3}
.o-established{color:#0072B2}.o-unanswered{color:#D55E00}.o-refused{color:#E69F00}
.o-icmp_unreachable{color:#CC79A7}.o-half_open{color:#009E73}.o-answered_by_ack{color:#56B4E9}
.o-reset_after_ack{color:#000}.o-incomplete{color:#888}.o-none{color:#333}
.s .lt{fill:currentColor;font-size:14px;font-weight:700}
.lost-client_to_server{color:#D55E00}.lost-server{color:#000}.lost-server_to_client{color:#0072B2}.lost-unknown{color:#555}
.join{color:#aaa}.join .ln{stroke-width:1}
.synack{color:#333}.rst{color:#000}.rst .ln{stroke-width:2.5}.icmp{color:#CC79A7}
.paws-ok{color:#0072B2}.paws-lost{color:#D55E00}.stamp{color:#000}.stamp .ln{stroke-width:1.2}
.q-ok{color:#56B4E9}.q-lost{color:#D55E00}.q-wait{color:#000}.q-wait .ln{stroke-width:2}.q-cap{color:#555}.q-full{color:#000}
.l-first{color:#0072B2}.l-retx{color:#E69F00}.l-pct{color:#000}
.scroll{overflow-x:auto}
table{border-collapse:collapse;margin:.4em 0;font-size:.92em}
th,td{border-bottom:1px solid #e2e2e2;padding:.2em .6em;text-align:left;vertical-align:top}
th{background:#f3f5f8}
th button{font:inherit;font-weight:700;background:none;border:0;padding:0;cursor:pointer;color:inherit;text-align:inherit}
th[aria-sort=ascending] button::after{content:" ▲"}
th[aria-sort=descending] button::after{content:" ▼"}
.num{text-align:right;font-variant-numeric:tabular-nums}
tr.error td{background:#fff4ec}
.err{color:#a33d00;font-weight:600}
td .summary{color:#444}
td .badge{white-space:nowrap}
tr.sev-none,tr.sev-critical,tr.sev-warning,tr.sev-info{border-left:0}
footer{margin-top:2em;border-top:1px solid #ddd;color:#555;font-size:.88em}
@media print{
body{font-size:10pt;max-width:none;padding:0}
nav,th button::after{display:none}
*{-webkit-print-color-adjust:exact;print-color-adjust:exact}
.finding,.fig,tr{break-inside:avoid}
h2,h3{break-after:avoid}
.plot,.scroll{overflow:visible}
.multiples{grid-template-columns:1fr 1fr}
a{color:inherit;text-decoration:none}
}
`

// pageScript makes the tables sortable by a click on a column heading.
// The page reads the same without it. A cell's data-sort attribute, when
// it has one, is what it sorts by: numbers in numeric columns, and in the
// others keys computed in Go that compare as plain strings (addresses and
// ports by value: addrKey), so the script needs no parser of its own.
const pageScript = `
(function () {
  function key(td, num) {
    var k = td.getAttribute("data-sort");
    var s = k !== null ? k : td.textContent;
    if (num) {
      var f = parseFloat(s);
      return isNaN(f) ? -Infinity : f;
    }
    return s.toLowerCase();
  }
  var tables = document.querySelectorAll("table.sortable");
  Array.prototype.forEach.call(tables, function (t) {
    var ths = t.tHead.rows[0].cells;
    Array.prototype.forEach.call(ths, function (th, i) {
      var b = document.createElement("button");
      b.type = "button";
      b.textContent = th.textContent;
      th.textContent = "";
      th.appendChild(b);
      b.addEventListener("click", function () {
        var num = th.classList.contains("num");
        var asc = th.getAttribute("aria-sort") !== "ascending";
        Array.prototype.forEach.call(ths, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", asc ? "ascending" : "descending");
        var body = t.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        rows.sort(function (a, b) {
          var x = key(a.cells[i], num), y = key(b.cells[i], num);
          return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
`
