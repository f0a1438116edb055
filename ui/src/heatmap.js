// A latency heatmap on a canvas: one column per second (newest at the right), one row
// per log2(usec) slot, darker = more operations completed in that second and slot.

const COLS = 120;

export class Heatmap {
  constructor(canvas, slotMax) {
    this.canvas = canvas;
    this.slotMax = slotMax;
    this.cols = []; // [{t, counts[32]}]
    this.samples = 0;
  }

  push(t, deltas) {
    this.cols.push({ t, counts: deltas });
    if (this.cols.length > COLS) this.cols.shift();
    this.samples++;
    this.draw();
  }

  reset() {
    this.cols = [];
    this.draw();
  }

  draw() {
    const c = this.canvas;
    const w = c.clientWidth || 600, hgt = c.clientHeight || 200;
    const dpr = window.devicePixelRatio || 1;
    if (c.width !== Math.round(w * dpr)) c.width = Math.round(w * dpr);
    if (c.height !== Math.round(hgt * dpr)) c.height = Math.round(hgt * dpr);
    const g = c.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, hgt);
    let lo = 31, hi = 0, max = 0;
    for (const col of this.cols) col.counts.forEach((n, i) => {
      if (n > 0) { lo = Math.min(lo, i); hi = Math.max(hi, i); max = Math.max(max, n); }
    });
    if (max === 0) { lo = 0; hi = 12; }
    lo = Math.max(0, Math.min(lo, hi - 7));
    const rows = hi - lo + 1, left = 64, bottom = 18;
    const cw = (w - left) / COLS, rh = (hgt - bottom) / rows;
    g.font = '11px sans-serif';
    g.fillStyle = '#555';
    g.textBaseline = 'middle';
    for (let s = lo; s <= hi; s++) {
      const y = hgt - bottom - (s - lo + 0.5) * rh;
      if (rows <= 16 || (s - lo) % 2 === 0) g.fillText('≤' + label(this.slotMax[s]), 2, y);
    }
    const x0 = left + (COLS - this.cols.length) * cw;
    this.cols.forEach((col, x) => {
      for (let s = lo; s <= hi; s++) {
        const n = col.counts[s];
        if (!n) continue;
        const f = Math.log1p(n) / Math.log1p(max);
        g.fillStyle = `hsl(${210 - 210 * f}, 85%, ${88 - 50 * f}%)`;
        g.fillRect(x0 + x * cw, hgt - bottom - (s - lo + 1) * rh, Math.ceil(cw), Math.ceil(rh));
      }
    });
    g.fillStyle = '#555';
    g.fillText(`${COLS} s ago`, left, hgt - bottom / 2);
    g.textAlign = 'right';
    g.fillText('now', w - 2, hgt - bottom / 2);
    g.textAlign = 'left';
  }
}

export function label(us) {
  if (us === null || us === undefined) return '∞';
  if (us >= 1e6) return (us / 1e6).toFixed(us >= 1e7 ? 0 : 1) + 's';
  if (us >= 1e3) return (us / 1e3).toFixed(us >= 1e4 ? 0 : 1) + 'ms';
  return us + 'µs';
}
