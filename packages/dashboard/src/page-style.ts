/** The dashboard's stylesheet: system fonts only, light and dark, readable on a phone. */
export const PAGE_CSS = `
:root { color-scheme: light dark; --bg: #f6f7f9; --fg: #1b1f24; --muted: #5b6470; --card: #fff;
  --line: #d9dde3; --up: #1a7f37; --down: #c62828; --warn: #9a6700; --chip: #eef1f4; }
@media (prefers-color-scheme: dark) {
  :root { --bg: #111418; --fg: #e6e9ed; --muted: #9aa4af; --card: #1a1f25; --line: #2c333b;
    --up: #3fb950; --down: #f85149; --warn: #d29922; --chip: #242b33; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg);
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; }
header { display: flex; flex-wrap: wrap; gap: .5rem 1rem; align-items: baseline; padding: .75rem 1rem;
  border-bottom: 1px solid var(--line); background: var(--card); position: sticky; top: 0; z-index: 1; }
header h1 { font-size: 1.1rem; margin: 0; }
header .meta { color: var(--muted); font-size: .85rem; display: flex; flex-wrap: wrap; gap: .25rem 1rem; }
main { padding: 1rem; max-width: 1200px; margin: 0 auto; display: grid; gap: 1rem; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: .75rem 1rem; }
h2 { font-size: 1rem; margin: 0 0 .5rem; }
h3 { font-size: .95rem; margin: .75rem 0 .25rem; display: flex; gap: .5rem; align-items: center; }
table { width: 100%; border-collapse: collapse; font-variant-numeric: tabular-nums; }
th, td { text-align: left; padding: .3rem .5rem; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: .8rem; }
td.num, th.num { text-align: right; }
code { font: .85rem ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; word-break: break-all; }
.badge { display: inline-block; padding: 0 .45rem; border-radius: 999px; font-size: .8rem; font-weight: 600;
  background: var(--chip); }
.up { color: var(--up); } .down { color: var(--down); } .removed, .muted { color: var(--muted); }
.warn { color: var(--warn); }
.chip { display: inline-block; background: var(--chip); border-radius: 4px; padding: 0 .35rem; margin: 0 .2rem .1rem 0;
  font-size: .8rem; }
tr[data-status="down"] { background: color-mix(in srgb, var(--down) 8%, transparent); }
#status.stale { color: var(--down); font-weight: 600; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .15rem .75rem; margin: .25rem 0 0; font-size: .85rem; }
dt { color: var(--muted); } dd { margin: 0; word-break: break-word; }
.empty { color: var(--muted); font-style: italic; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(300px, 1fr)); gap: .75rem; }
figure.chart { margin: 0; min-width: 0; overflow: hidden; }
figure.chart figcaption { font-size: .8rem; color: var(--muted); margin-bottom: .25rem; overflow-wrap: anywhere; }
figure.chart .u-legend { font-size: .75rem; }
@media (max-width: 700px) {
  .charts { grid-template-columns: 1fr; }
  main { padding: .5rem; }
  section { padding: .5rem .75rem; }
  thead { display: none; }
  table, tbody, tr, td { display: block; width: 100%; }
  tr { border-bottom: 1px solid var(--line); padding: .35rem 0; }
  td { border: 0; padding: .1rem 0; display: flex; justify-content: space-between; gap: 1rem; text-align: right; }
  td.num { text-align: right; }
  td::before { content: attr(data-label); color: var(--muted); font-size: .8rem; text-align: left; }
}
`;
