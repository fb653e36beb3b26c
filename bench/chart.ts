/**
 * A small log–log line chart as standalone SVG, for docs/images (GitHub renders it; no script, no fonts fetched).
 */
export interface Series {
  name: string;
  colour: string;
  dashed?: boolean;
  points: Array<{ x: number; y: number }>;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** Decades (and 2 and 5 within them) between `min` and `max`, for a logarithmic axis. */
function logTicks(min: number, max: number): number[] {
  const ticks: number[] = [];
  for (let power = Math.floor(Math.log10(min)); power <= Math.ceil(Math.log10(max)); power += 1) {
    for (const step of [1, 2, 5]) {
      const value = step * 10 ** power;
      if (value >= min * 0.999 && value <= max * 1.001) ticks.push(value);
    }
  }
  return ticks;
}

const label = (ms: number) => (ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`);

export function logLogChartSvg(title: string, xLabel: string, series: readonly Series[], xTicks: readonly number[]): string {
  const width = 640;
  const height = 400;
  const margin = { left: 70, right: 170, top: 40, bottom: 50 };
  const all = series.flatMap((entry) => entry.points);
  const xMin = Math.min(...all.map((point) => point.x));
  const xMax = Math.max(...all.map((point) => point.x));
  const yMin = 10 ** Math.floor(Math.log10(Math.min(...all.map((point) => point.y))));
  const yMax = 10 ** Math.ceil(Math.log10(Math.max(...all.map((point) => point.y))));
  const x = (value: number) =>
    margin.left + ((Math.log(value) - Math.log(xMin)) / (Math.log(xMax) - Math.log(xMin))) * (width - margin.left - margin.right);
  const y = (value: number) =>
    height -
    margin.bottom -
    ((Math.log(value) - Math.log(yMin)) / (Math.log(yMax) - Math.log(yMin))) * (height - margin.top - margin.bottom);
  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${width}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="${margin.left}" y="24" font-size="15" font-weight="600">${escapeXml(title)}</text>`);
  for (const tick of logTicks(yMin, yMax)) {
    parts.push(
      `<line x1="${margin.left}" x2="${width - margin.right}" y1="${y(tick).toFixed(1)}" y2="${y(tick).toFixed(1)}" stroke="#e0e0e0"/>`,
    );
    parts.push(`<text x="${margin.left - 8}" y="${(y(tick) + 4).toFixed(1)}" text-anchor="end" font-size="11">${label(tick)}</text>`);
  }
  for (const tick of xTicks) {
    parts.push(
      `<line x1="${x(tick).toFixed(1)}" x2="${x(tick).toFixed(1)}" y1="${margin.top}" y2="${height - margin.bottom}" stroke="#e0e0e0"/>`,
    );
    parts.push(`<text x="${x(tick).toFixed(1)}" y="${height - margin.bottom + 18}" text-anchor="middle" font-size="11">${tick}</text>`);
  }
  parts.push(
    `<text x="${((margin.left + width - margin.right) / 2).toFixed(0)}" y="${height - 12}" text-anchor="middle" font-size="12">${escapeXml(xLabel)}</text>`,
  );
  parts.push(
    `<rect x="${margin.left}" y="${margin.top}" width="${width - margin.left - margin.right}" height="${height - margin.top - margin.bottom}" fill="none" stroke="#888"/>`,
  );
  series.forEach((entry, index) => {
    const path = entry.points
      .map((point, position) => `${position ? 'L' : 'M'}${x(point.x).toFixed(1)},${y(point.y).toFixed(1)}`)
      .join(' ');
    parts.push(`<path d="${path}" fill="none" stroke="${entry.colour}" stroke-width="2"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    for (const point of entry.points)
      parts.push(`<circle cx="${x(point.x).toFixed(1)}" cy="${y(point.y).toFixed(1)}" r="3" fill="${entry.colour}"/>`);
    const legendY = margin.top + 16 + index * 20;
    parts.push(
      `<line x1="${width - margin.right + 14}" x2="${width - margin.right + 40}" y1="${legendY - 4}" y2="${legendY - 4}" stroke="${entry.colour}" stroke-width="2"${entry.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    parts.push(`<text x="${width - margin.right + 46}" y="${legendY}" font-size="12">${escapeXml(entry.name)}</text>`);
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif"><title>${escapeXml(title)}</title>${parts.join('')}</svg>\n`;
}
