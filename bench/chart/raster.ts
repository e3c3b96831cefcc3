/**
 * An RGB raster with the few drawing primitives a chart needs: pixels, filled and
 * outlined rectangles, thick and dashed lines, and bitmap text. Every primitive goes
 * through setPixel, which honours a clip rectangle (the raster itself by default),
 * so nothing can write outside the raster or outside the plot area of a chart.
 */
import { GLYPH_ADVANCE, GLYPH_HEIGHT, GLYPH_WIDTH, glyphColumns } from './font.js';
import { encodePng } from './png.js';

export type Rgb = readonly [number, number, number];

export const WHITE: Rgb = [255, 255, 255];
export const BLACK: Rgb = [0, 0, 0];

/** Integer pixel rectangle covering x .. x+width-1, y .. y+height-1. */
export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface LineStyle {
  /** Thickness in pixels (default 1). */
  width?: number;
  /** On and off lengths in pixels, e.g. [6, 4]; solid when absent. */
  dash?: readonly [number, number];
  /** Where in the dash pattern the line starts, so a polyline's dashes run on across its vertices. */
  phase?: number;
}

export class Raster {
  readonly data: Uint8Array;
  // Clip rectangle, half-open: x0 <= x < x1, y0 <= y < y1.
  private clipX0 = 0;
  private clipY0 = 0;
  private clipX1: number;
  private clipY1: number;

  constructor(
    readonly width: number,
    readonly height: number,
    background: Rgb = WHITE,
  ) {
    if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
      throw new RangeError(`raster size must be positive integers, got ${width}x${height}`);
    }
    this.data = new Uint8Array(width * height * 3);
    this.clipX1 = width;
    this.clipY1 = height;
    this.fillRect(0, 0, width, height, background);
  }

  /** Restricts drawing to `rect` (intersected with the raster); no argument resets to the whole raster. */
  setClip(rect?: Rect): void {
    if (!rect) {
      [this.clipX0, this.clipY0, this.clipX1, this.clipY1] = [0, 0, this.width, this.height];
      return;
    }
    const x0 = Math.floor(rect.x);
    const y0 = Math.floor(rect.y);
    this.clipX0 = clampInt(x0, 0, this.width);
    this.clipY0 = clampInt(y0, 0, this.height);
    this.clipX1 = Math.max(this.clipX0, clampInt(x0 + Math.floor(rect.width), 0, this.width));
    this.clipY1 = Math.max(this.clipY0, clampInt(y0 + Math.floor(rect.height), 0, this.height));
  }

  setPixel(x: number, y: number, color: Rgb): void {
    // Comparisons with NaN are false, so non-finite coordinates fall out here too.
    if (!(x >= this.clipX0 && x < this.clipX1 && y >= this.clipY0 && y < this.clipY1)) return;
    const at = (Math.floor(y) * this.width + Math.floor(x)) * 3;
    this.data[at] = color[0];
    this.data[at + 1] = color[1];
    this.data[at + 2] = color[2];
  }

  getPixel(x: number, y: number): Rgb | undefined {
    if (!(x >= 0 && x < this.width && y >= 0 && y < this.height)) return undefined;
    const at = (Math.floor(y) * this.width + Math.floor(x)) * 3;
    return [this.data[at]!, this.data[at + 1]!, this.data[at + 2]!];
  }

  fillRect(x: number, y: number, width: number, height: number, color: Rgb): void {
    // Intersect first so a huge rectangle costs only its visible part.
    const x0 = Math.max(this.clipX0, Math.ceil(x));
    const y0 = Math.max(this.clipY0, Math.ceil(y));
    const x1 = Math.min(this.clipX1, Math.ceil(x + width));
    const y1 = Math.min(this.clipY1, Math.ceil(y + height));
    if (!(x1 > x0 && y1 > y0)) return;
    for (let py = y0; py < y1; py++) for (let px = x0; px < x1; px++) this.setPixel(px, py, color);
  }

  /** An outline drawn inside the rectangle's bounds. */
  strokeRect(x: number, y: number, width: number, height: number, color: Rgb, lineWidth = 1): void {
    const w = Math.max(1, Math.round(lineWidth));
    this.fillRect(x, y, width, w, color);
    this.fillRect(x, y + height - w, width, w, color);
    this.fillRect(x, y, w, height, color);
    this.fillRect(x + width - w, y, w, height, color);
  }

  /**
   * A Bresenham line from (x0, y0) to (x1, y1), stamped with a square (width 2) or a
   * disc (width 3+) at every step. Returns the dash phase at the end of the segment.
   */
  line(x0: number, y0: number, x1: number, y1: number, color: Rgb, style: LineStyle = {}): number {
    const width = Math.max(1, Math.round(style.width ?? 1));
    const phase = style.phase ?? 0;
    const fullLength = Math.hypot(x1 - x0, y1 - y0);
    const endPhase = Number.isFinite(fullLength) ? phase + fullLength : phase;
    // Clip to the clip rectangle grown by the stamp radius: the Bresenham loop then
    // runs over visible pixels only, however far away the endpoints are.
    const margin = width / 2 + 1;
    const clipped = clipSegment(x0, y0, x1, y1, this.clipX0 - margin, this.clipY0 - margin, this.clipX1 - 1 + margin, this.clipY1 - 1 + margin);
    if (!clipped) return endPhase;
    const skipped = Math.hypot(clipped[0] - x0, clipped[1] - y0);
    let along = Number.isFinite(skipped) ? phase + skipped : phase;

    const stamp = stampOffsets(width);
    const dash = style.dash;
    const period = dash ? dash[0] + dash[1] : 0;
    const dashed = dash !== undefined && dash[0] > 0 && dash[1] > 0 && Number.isFinite(period);

    let x = Math.round(clipped[0]);
    let y = Math.round(clipped[1]);
    const xEnd = Math.round(clipped[2]);
    const yEnd = Math.round(clipped[3]);
    const dx = Math.abs(xEnd - x);
    const dy = -Math.abs(yEnd - y);
    const sx = x < xEnd ? 1 : -1;
    const sy = y < yEnd ? 1 : -1;
    let err = dx + dy;
    for (;;) {
      if (!dashed || along % period < dash[0]) {
        for (const [ox, oy] of stamp) this.setPixel(x + ox, y + oy, color);
      }
      if (x === xEnd && y === yEnd) break;
      const e2 = 2 * err;
      let moved = 0;
      if (e2 >= dy) {
        err += dy;
        x += sx;
        moved++;
      }
      if (e2 <= dx) {
        err += dx;
        y += sy;
        moved++;
      }
      // Measure the pattern in Euclidean length so diagonal dashes are as long as straight ones.
      along += moved === 2 ? Math.SQRT2 : 1;
    }
    return endPhase;
  }

  /** Joins the points with lines; a non-finite point breaks the line there. */
  polyline(points: readonly (readonly [number, number])[], color: Rgb, style: LineStyle = {}): void {
    let phase = style.phase ?? 0;
    let prev: readonly [number, number] | undefined;
    for (const p of points) {
      if (!Number.isFinite(p[0]) || !Number.isFinite(p[1])) {
        prev = undefined;
        continue;
      }
      if (prev) phase = this.line(prev[0], prev[1], p[0], p[1], color, { ...style, phase });
      prev = p;
    }
  }

  /** Draws `text` with its top-left corner at (x, y); each font pixel becomes a scale x scale block. */
  text(text: string, x: number, y: number, color: Rgb, scale = 1): void {
    const s = textScale(scale);
    let cx = Math.round(x);
    const top = Math.round(y);
    for (const ch of text) {
      const columns = glyphColumns(ch.codePointAt(0)!);
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        const bits = columns[col]!;
        for (let row = 0; row < GLYPH_HEIGHT; row++) {
          if (bits & (1 << row)) this.fillRect(cx + col * s, top + row * s, s, s, color);
        }
      }
      cx += GLYPH_ADVANCE * s;
    }
  }

  /**
   * Draws `text` rotated a quarter turn anticlockwise (reading bottom to top), as for
   * a y-axis label. (x, y) is the top-left corner of the rotated text's bounding box,
   * which is textHeight(scale) wide and textWidth(text, scale) tall.
   */
  textUp(text: string, x: number, y: number, color: Rgb, scale = 1): void {
    const s = textScale(scale);
    const left = Math.round(x);
    let bottom = Math.round(y) + textWidth(text, s);
    for (const ch of text) {
      const columns = glyphColumns(ch.codePointAt(0)!);
      for (let col = 0; col < GLYPH_WIDTH; col++) {
        const bits = columns[col]!;
        for (let row = 0; row < GLYPH_HEIGHT; row++) {
          // Glyph column c goes up from the bottom; glyph row r goes right from the left.
          if (bits & (1 << row)) this.fillRect(left + row * s, bottom - (col + 1) * s, s, s, color);
        }
      }
      bottom -= GLYPH_ADVANCE * s;
    }
  }

  toPng(): Buffer {
    return encodePng({ width: this.width, height: this.height, channels: 3, data: this.data });
  }
}

/** Width in pixels of `text` drawn at `scale` (no trailing blank column). */
export function textWidth(text: string, scale = 1): number {
  const n = [...text].length;
  return n === 0 ? 0 : (n * GLYPH_ADVANCE - 1) * textScale(scale);
}

/** Height in pixels of a line of text, descenders included. */
export function textHeight(scale = 1): number {
  return GLYPH_HEIGHT * textScale(scale);
}

function textScale(scale: number): number {
  return Number.isFinite(scale) ? Math.min(64, Math.max(1, Math.round(scale))) : 1;
}

function clampInt(v: number, lo: number, hi: number): number {
  return Number.isNaN(v) ? lo : Math.min(hi, Math.max(lo, v));
}

const stampCache = new Map<number, readonly (readonly [number, number])[]>();

function stampOffsets(width: number): readonly (readonly [number, number])[] {
  const w = Math.min(width, 64);
  let offsets = stampCache.get(w);
  if (!offsets) {
    const lo = -Math.floor((w - 1) / 2);
    const centre = lo + (w - 1) / 2;
    const r2 = (w / 2) * (w / 2);
    const list: [number, number][] = [];
    for (let oy = lo; oy < lo + w; oy++) {
      for (let ox = lo; ox < lo + w; ox++) {
        // Widths 1 and 2 are squares; wider stamps are discs so diagonals are not fatter.
        if (w <= 2 || (ox - centre) ** 2 + (oy - centre) ** 2 <= r2 + 0.25) list.push([ox, oy]);
      }
    }
    offsets = list;
    stampCache.set(w, offsets);
  }
  return offsets;
}

/**
 * Liang-Barsky clipping of a segment to [xMin, xMax] x [yMin, yMax]. Returns the
 * visible part, or undefined when there is none or an endpoint is not finite.
 * Works on halved coordinates (halving is exact) so differences of huge finite
 * endpoints cannot overflow to Infinity.
 */
export function clipSegment(
  x0: number,
  y0: number,
  x1: number,
  y1: number,
  xMin: number,
  yMin: number,
  xMax: number,
  yMax: number,
): [number, number, number, number] | undefined {
  if (![x0, y0, x1, y1].every(Number.isFinite) || !(xMax >= xMin && yMax >= yMin)) return undefined;
  const hx0 = x0 / 2;
  const hy0 = y0 / 2;
  const dx = x1 / 2 - hx0;
  const dy = y1 / 2 - hy0;
  let t0 = 0;
  let t1 = 1;
  const edges: [number, number][] = [
    [-dx, hx0 - xMin / 2],
    [dx, xMax / 2 - hx0],
    [-dy, hy0 - yMin / 2],
    [dy, yMax / 2 - hy0],
  ];
  for (const [p, q] of edges) {
    if (p === 0) {
      if (q < 0) return undefined; // parallel to this edge and outside it
      continue;
    }
    const t = q / p;
    if (p < 0) {
      if (t > t1) return undefined;
      if (t > t0) t0 = t;
    } else {
      if (t < t0) return undefined;
      if (t < t1) t1 = t;
    }
  }
  const ax = t0 === 0 ? x0 : 2 * (hx0 + t0 * dx);
  const ay = t0 === 0 ? y0 : 2 * (hy0 + t0 * dy);
  const bx = t1 === 1 ? x1 : 2 * (hx0 + t1 * dx);
  const by = t1 === 1 ? y1 : 2 * (hy0 + t1 * dy);
  // Rounding can leave a clipped end a hair outside; pull it back in.
  return [clamp(ax, xMin, xMax), clamp(ay, yMin, yMax), clamp(bx, xMin, xMax), clamp(by, yMin, yMax)];
}

function clamp(v: number, lo: number, hi: number): number {
  return Math.min(hi, Math.max(lo, v));
}
