// A horizontal bar chart as inline SVG, built with DOM calls (no chart service, no inline
// style: the strict CSP holds). It runs in any page; it reads nothing but its arguments.

const SVG = "http://www.w3.org/2000/svg";
const ROW = 26;
const LABEL_WIDTH = 210;
const VALUE_WIDTH = 90;
const WIDTH = 640;

function svg(tag, attributes = {}, text = null) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, String(value));
  if (text !== null) node.textContent = text;
  return node;
}

/**
 * barChart({ title, rows: [{ label, value }], format(value) }) -> <svg>
 * Bars are scaled to the largest value; each row has its label, its bar and its figure, and a
 * <title> for a tooltip. The chart is an image to assistive technology (role="img", named by
 * `title`): the figures are also in the table next to it.
 */
export function barChart({ title, rows, format = String }) {
  const height = Math.max(1, rows.length) * ROW + 8;
  const chart = svg("svg", { viewBox: `0 0 ${WIDTH} ${height}`, class: "bar-chart",
                             role: "img", "aria-label": title, width: WIDTH, height });
  chart.append(svg("title", {}, title));
  const largest = Math.max(0, ...rows.map((row) => row.value));
  const room = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  rows.forEach((row, index) => {
    const y = 4 + index * ROW;
    const length = largest > 0 ? Math.max(2, (row.value / largest) * room) : 0;
    const group = svg("g", { class: "bar-row" });
    group.append(
      svg("title", {}, `${row.label}: ${format(row.value)}`),
      svg("text", { x: LABEL_WIDTH - 8, y: y + ROW / 2, class: "bar-label",
                    "text-anchor": "end", "dominant-baseline": "middle" },
          row.label.length > 30 ? `${row.label.slice(0, 29)}…` : row.label),
      svg("rect", { x: LABEL_WIDTH, y: y + 4, width: length.toFixed(1), height: ROW - 8,
                    rx: 3, class: "bar" }),
      svg("text", { x: LABEL_WIDTH + length + 6, y: y + ROW / 2, class: "bar-value",
                    "dominant-baseline": "middle" }, format(row.value)));
    chart.append(group);
  });
  return chart;
}
