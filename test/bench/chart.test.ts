import { expect } from 'chai';
import fc from 'fast-check';
import * as zlib from 'node:zlib';
import { cdfPoints } from '../../bench/chart/cdf.js';
import { GLYPH_HEIGHT, GLYPH_WIDTH, glyphColumns } from '../../bench/chart/font.js';
import { DEFAULT_COLORS, LineChartSpec, drawLineChart, renderLineChart } from '../../bench/chart/line-chart.js';
import { renderPanels } from '../../bench/chart/panels.js';
import { crc32, encodePng } from '../../bench/chart/png.js';
import { Raster, Rgb, WHITE, textHeight, textWidth } from '../../bench/chart/raster.js';
import { ScaleKind, axisScale, makeAxis } from '../../bench/chart/scale.js';

// Bit-at-a-time CRC-32, independent of the table-driven one under test.
function referenceCrc(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return (c ^ 0xffffffff) >>> 0;
}

interface Decoded {
  width: number;
  height: number;
  channels: number;
  pixels: Uint8Array;
}

/** A small PNG decoder (8-bit RGB/RGBA, no interlace) that checks every chunk's CRC. */
function decodePng(png: Buffer): Decoded {
  expect([...png.subarray(0, 8)]).to.deep.equal([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  const chunks: { type: string; data: Buffer }[] = [];
  let at = 8;
  while (at < png.length) {
    const length = png.readUInt32BE(at);
    const type = png.toString('latin1', at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    const crc = png.readUInt32BE(at + 8 + length);
    expect(crc, `CRC of ${type}`).to.equal(referenceCrc(png.subarray(at + 4, at + 8 + length)));
    chunks.push({ type, data });
    at += 12 + length;
  }
  expect(at).to.equal(png.length);
  expect(chunks[0]?.type).to.equal('IHDR');
  expect(chunks.at(-1)).to.deep.include({ type: 'IEND' });
  expect(chunks.at(-1)!.data.length).to.equal(0);
  const ihdr = chunks[0]!.data;
  const width = ihdr.readUInt32BE(0);
  const height = ihdr.readUInt32BE(4);
  expect(ihdr[8], 'bit depth').to.equal(8);
  expect([2, 6]).to.include(ihdr[9]);
  expect([ihdr[10], ihdr[11], ihdr[12]]).to.deep.equal([0, 0, 0]);
  const channels = ihdr[9] === 6 ? 4 : 3;
  const raw = zlib.inflateSync(Buffer.concat(chunks.filter((c) => c.type === 'IDAT').map((c) => c.data)));
  const stride = width * channels;
  expect(raw.length).to.equal((stride + 1) * height);
  const pixels = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    expect(filter, 'filter type').to.be.within(0, 4);
    for (let i = 0; i < stride; i++) {
      const x = raw[y * (stride + 1) + 1 + i]!;
      const a = i >= channels ? pixels[y * stride + i - channels]! : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + i]! : 0;
      const c = i >= channels && y > 0 ? pixels[(y - 1) * stride + i - channels]! : 0;
      pixels[y * stride + i] = (x + predict(filter, a, b, c)) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

function predict(filter: number, a: number, b: number, c: number): number {
  switch (filter) {
    case 0:
      return 0;
    case 1:
      return a;
    case 2:
      return b;
    case 3:
      return (a + b) >> 1;
    default: {
      const p = a + b - c;
      const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
      return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
    }
  }
}

function countColor(image: Decoded, color: Rgb, region?: { x: number; y: number; width: number; height: number }): number {
  let n = 0;
  for (let y = 0; y < image.height; y++) {
    for (let x = 0; x < image.width; x++) {
      if (region && x >= region.x && x < region.x + region.width && y >= region.y && y < region.y + region.height) continue;
      const at = (y * image.width + x) * image.channels;
      if (image.pixels[at] === color[0] && image.pixels[at + 1] === color[1] && image.pixels[at + 2] === color[2]) n++;
    }
  }
  return n;
}

function nonWhite(raster: Raster): { x: number; y: number }[] {
  const out: { x: number; y: number }[] = [];
  for (let y = 0; y < raster.height; y++) {
    for (let x = 0; x < raster.width; x++) {
      const p = raster.getPixel(x, y)!;
      if (p[0] !== 255 || p[1] !== 255 || p[2] !== 255) out.push({ x, y });
    }
  }
  return out;
}

describe('bench chart', () => {
  describe('PNG encoder', () => {
    it('computes the standard CRC-32', () => {
      expect(crc32(Buffer.from('123456789'))).to.equal(0xcbf43926);
      expect(crc32(Buffer.from('IEND'))).to.equal(0xae426082);
      const bytes = Buffer.from('breakwater chart');
      expect(crc32(bytes)).to.equal(referenceCrc(bytes));
      if (typeof zlib.crc32 === 'function') expect(crc32(bytes)).to.equal(zlib.crc32(bytes));
    });

    it('writes RGB and RGBA images that decode to the same pixels', () => {
      for (const channels of [3, 4] as const) {
        const width = 5;
        const height = 3;
        const data = Uint8Array.from({ length: width * height * channels }, (_, i) => (i * 37 + 11) & 0xff);
        const decoded = decodePng(encodePng({ width, height, channels, data }));
        expect(decoded).to.deep.include({ width, height, channels });
        expect([...decoded.pixels]).to.deep.equal([...data]);
      }
    });

    it('refuses data of the wrong length or an empty size', () => {
      expect(() => encodePng({ width: 2, height: 2, channels: 3, data: new Uint8Array(11) })).to.throw(RangeError);
      expect(() => encodePng({ width: 0, height: 2, channels: 3, data: new Uint8Array(0) })).to.throw(RangeError);
    });
  });

  describe('raster', () => {
    it('draws text as non-background pixels inside the measured box, for every printable ASCII character', () => {
      const raster = new Raster(200, 40);
      const text = 'Tail p99.9 = 12.5% (x2) [a_b] <ok> +/-:';
      raster.text(text, 3, 4, [0, 0, 0], 1);
      const ink = nonWhite(raster);
      expect(ink.length).to.be.greaterThan(100);
      for (const { x, y } of ink) {
        expect(x).to.be.within(3, 3 + textWidth(text, 1) - 1);
        expect(y).to.be.within(4, 4 + textHeight(1) - 1);
      }
      const seen = new Set<string>();
      for (let code = 33; code <= 126; code++) {
        const columns = glyphColumns(code);
        expect(columns, String.fromCharCode(code)).to.have.length(GLYPH_WIDTH);
        expect(columns.some((c) => c !== 0), `glyph for ${String.fromCharCode(code)}`).to.equal(true);
        expect(columns.every((c) => c < 1 << GLYPH_HEIGHT)).to.equal(true);
        seen.add(columns.join());
      }
      expect(seen.size, 'distinct glyphs').to.equal(126 - 33 + 1);
    });

    it('scales text by an integer factor and rotates it for vertical labels', () => {
      const one = new Raster(60, 20);
      one.text('A1', 0, 0, [0, 0, 0], 1);
      const three = new Raster(60, 30);
      three.text('A1', 0, 0, [0, 0, 0], 3);
      expect(nonWhite(three).length).to.equal(9 * nonWhite(one).length);

      const up = new Raster(30, 60);
      up.textUp('p99', 2, 5, [0, 0, 0], 2);
      const ink = nonWhite(up);
      expect(ink.length).to.be.greaterThan(0);
      for (const { x, y } of ink) {
        expect(x).to.be.within(2, 2 + textHeight(2) - 1);
        expect(y).to.be.within(5, 5 + textWidth('p99', 2) - 1);
      }
    });

    it('draws thick and dashed lines', () => {
      const raster = new Raster(100, 20);
      raster.line(0, 5, 99, 5, [255, 0, 0], { width: 3 });
      for (const y of [4, 5, 6]) expect(raster.getPixel(50, y)).to.deep.equal([255, 0, 0]);
      expect(raster.getPixel(50, 8)).to.deep.equal(WHITE);
      raster.line(0, 15, 99, 15, [0, 0, 255], { dash: [5, 5] });
      const row = Array.from({ length: 100 }, (_, x) => raster.getPixel(x, 15)![2] === 255 && raster.getPixel(x, 15)![0] === 0);
      expect(row.slice(0, 10)).to.deep.equal([true, true, true, true, true, false, false, false, false, false]);
      expect(row.filter(Boolean).length).to.equal(50);
    });

    it('never writes outside the raster or the clip rectangle, however far off the shapes are', () => {
      const huge = [-1e300, -1e9, -50, 0, 7, 25, 1e9, 1e300, Number.MAX_VALUE, -Number.MAX_VALUE];
      const raster = new Raster(20, 12);
      // A line running off the right edge must not wrap into the next row.
      raster.line(-5, 5, 1e9, 5, [0, 0, 0]);
      expect(nonWhite(raster).every(({ y }) => y === 5)).to.equal(true);
      expect(nonWhite(raster)).to.have.length(20);

      const clip = { x: 4, y: 3, width: 9, height: 5 };
      fc.assert(
        fc.property(
          fc.array(
            fc.oneof(
              fc.tuple(fc.constant('line' as const), fc.array(fc.oneof(fc.constantFrom(...huge), fc.double()), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 9 })),
              fc.tuple(fc.constant('rect' as const), fc.array(fc.oneof(fc.constantFrom(...huge), fc.double()), { minLength: 4, maxLength: 4 }), fc.integer({ min: 1, max: 3 })),
              fc.tuple(fc.constant('text' as const), fc.array(fc.oneof(fc.constantFrom(...huge), fc.integer({ min: -30, max: 30 })), { minLength: 2, maxLength: 2 }), fc.integer({ min: 1, max: 3 })),
            ),
            { maxLength: 12 },
          ),
          (ops) => {
            const r = new Raster(20, 12);
            r.setClip(clip);
            for (const [kind, c, n] of ops) {
              if (kind === 'line') r.line(c[0]!, c[1]!, c[2]!, c[3]!, [0, 0, 0], { width: n, dash: n % 2 ? [3, 2] : undefined });
              else if (kind === 'rect') r.fillRect(c[0]!, c[1]!, c[2]!, c[3]!, [0, 0, 0]);
              else r.text('Wg%', c[0]!, c[1]!, [0, 0, 0], n);
            }
            expect(r.data.length).to.equal(20 * 12 * 3);
            for (const { x, y } of nonWhite(r)) {
              expect(x).to.be.within(clip.x, clip.x + clip.width - 1);
              expect(y).to.be.within(clip.y, clip.y + clip.height - 1);
            }
          },
        ),
        { numRuns: 300 },
      );
    });
  });

  describe('scales', () => {
    it('log scale puts 1, 10, 100 and 1000 equally far apart and labels the decades', () => {
      const px = axisScale('log', 1, 1000, 0, 300);
      expect(px(1)).to.be.closeTo(0, 1e-9);
      expect(px(10)).to.be.closeTo(100, 1e-9);
      expect(px(100) - px(10)).to.be.closeTo(px(10) - px(1), 1e-9);
      expect(px(1000)).to.be.closeTo(300, 1e-9);
      const labels = makeAxis('log', [0, 3]).ticks.map((t) => t.label).filter(Boolean);
      expect(labels).to.include.members(['1', '10', '100', '1000']);
    });

    it('nines scale puts p90, p99 and p99.9 equally far apart and labels them as percentiles', () => {
      const px = axisScale('nines', 0, 0.9999, 0, 400);
      expect(px(0.9)).to.be.closeTo(100, 1e-6);
      expect(px(0.99) - px(0.9)).to.be.closeTo(100, 1e-6);
      expect(px(0.999) - px(0.99)).to.be.closeTo(100, 1e-6);
      expect(px(0.5)).to.be.within(px(0), px(0.9));
      const labels = makeAxis('nines', [], { min: 0, max: 0.9999 }).ticks.map((t) => t.label).filter(Boolean);
      expect(labels).to.include.members(['p50', 'p90', 'p99', 'p99.9', 'p99.99']);
      const explicit = makeAxis('nines', [], { min: 0.5, max: 0.999, ticks: [0.5, 0.9, 0.99, 0.999] }).ticks.map((t) => t.label);
      expect(explicit).to.deep.equal(['p50', 'p90', 'p99', 'p99.9']);
    });

    it('linear ticks are round numbers covering the data', () => {
      const axis = makeAxis('linear', [0.03, 0.97]);
      expect(axis.tMin).to.equal(0);
      expect(axis.tMax).to.be.closeTo(1, 1e-12);
      const labels = axis.ticks.map((t) => t.label);
      expect(labels[0]).to.equal('0');
      expect(labels.at(-1)).to.equal('1.0');
      expect(labels).to.include('0.4');
    });
  });

  describe('cdfPoints', () => {
    it('returns every sample with its cumulative fraction when there are few', () => {
      expect(cdfPoints([3, 1, NaN, 2, 2])).to.deep.equal([
        [1, 0.25],
        [2, 0.5],
        [2, 0.75],
        [3, 1],
      ]);
      expect(cdfPoints([])).to.deep.equal([]);
    });

    it('thins many samples to the budget but keeps the tail exact', () => {
      const n = 100_000;
      const samples = Array.from({ length: n }, (_, i) => ((i * 7919) % n) + 1); // 1..n shuffled
      const points = cdfPoints(samples);
      expect(points.length).to.be.at.most(2000).and.at.least(1500);
      expect(points[0]).to.deep.equal([1, 1 / n]);
      for (let i = 1; i < points.length; i++) expect(points[i]![0]).to.be.greaterThan(points[i - 1]![0]);
      const tail = points.slice(-32);
      expect(tail).to.deep.equal(Array.from({ length: 32 }, (_, k) => [n - 31 + k, (n - 31 + k) / n]));
      // The log-spaced half leaves points in every decade of the tail.
      for (const q of [1e-1, 1e-2, 1e-3]) {
        expect(points.filter(([, p]) => p > 1 - q && p <= 1 - q / 10).length, `points between p${100 - 100 * q} and the next nine`).to.be.at.least(20);
      }
      // Beyond p99.99 there are only ten samples, and all of them are kept.
      expect(points.filter(([, p]) => p > 1 - 1e-4)).to.have.length(10);
    });
  });

  describe('renderLineChart', () => {
    const spec: LineChartSpec = {
      title: 'Latency CDF',
      width: 640,
      height: 400,
      xLabel: 'latency (ms)',
      yLabel: 'percentile',
      xScale: 'log',
      yScale: 'nines',
      series: [
        { name: 'fast', points: cdfPoints(Array.from({ length: 5000 }, (_, i) => 1 + (i % 97) / 10)) },
        { name: 'slow', points: cdfPoints(Array.from({ length: 5000 }, (_, i) => 5 + (i % 89))), dashed: true },
      ],
      hLines: [{ y: 0.99, label: 'target p99' }],
    };

    it('draws each series in its own colour, with title, labels and legend', () => {
      const png = renderLineChart(spec);
      const image = decodePng(png);
      expect(image).to.deep.include({ width: 640, height: 400 });
      const [first, second] = [DEFAULT_COLORS[0]!, DEFAULT_COLORS[1]!];
      expect(countColor(image, first)).to.be.greaterThan(200);
      expect(countColor(image, second)).to.be.greaterThan(100);
      const { plot } = drawLineChart(spec);
      // Text lives outside the plot: the title above, tick and axis labels left and below.
      const ink = countColor(image, [34, 34, 34], plot);
      expect(ink).to.be.greaterThan(500);
    });

    it('clips points outside the axis range to the plot area', () => {
      const { raster, plot, colors } = drawLineChart({
        ...spec,
        xScale: 'linear',
        yScale: 'linear',
        xMin: 0,
        xMax: 10,
        yMin: 0,
        yMax: 10,
        legend: 'none',
        series: [
          { name: 'wild', points: [[-1e300, 5], [5, 5], [5, 1e300], [1e15, -1e15], [2, 2], [1e308, 1e308]] },
          { name: 'off', points: [[20, 20], [30, 40]] },
        ],
      });
      const image = decodePng(raster.toPng());
      expect(countColor(image, colors[0]!)).to.be.greaterThan(100);
      expect(countColor(image, colors[0]!, plot), 'series pixels outside the plot').to.equal(0);
      expect(countColor(image, colors[1]!), 'a series entirely outside').to.equal(0);
    });

    it('never throws and always returns a valid PNG, whatever the points and options', () => {
      const value = fc.oneof(fc.double(), fc.double({ min: -5, max: 2000, noNaN: true }), fc.constantFrom(0, 1, 0.9, 0.99, 1e-300, -1, Infinity, -Infinity, NaN));
      const option = fc.option(value, { nil: undefined });
      const scale = fc.constantFrom<ScaleKind>('linear', 'log', 'nines');
      fc.assert(
        fc.property(
          fc.record({
            title: fc.string({ maxLength: 60 }),
            width: fc.integer({ min: 1, max: 500 }),
            height: fc.integer({ min: 1, max: 400 }),
            xLabel: fc.string({ maxLength: 30 }),
            yLabel: fc.string({ maxLength: 30 }),
            xScale: scale,
            yScale: scale,
            series: fc.array(
              fc.record({
                name: fc.string({ maxLength: 20 }),
                points: fc.array(fc.tuple(value, value), { maxLength: 40 }),
                dashed: fc.boolean(),
                color: fc.option(fc.oneof(fc.constant('#12ab34'), fc.string({ maxLength: 7 })), { nil: undefined }),
                lineWidth: fc.option(fc.integer({ min: -2, max: 20 }), { nil: undefined }),
              }),
              { maxLength: 10 },
            ),
            xMin: option,
            xMax: option,
            yMin: option,
            yMax: option,
            xTicks: fc.option(fc.array(value, { maxLength: 6 }), { nil: undefined }),
            yTicks: fc.option(fc.array(value, { maxLength: 6 }), { nil: undefined }),
            hLines: fc.option(fc.array(fc.record({ y: value, label: fc.string({ maxLength: 12 }) }), { maxLength: 3 }), { nil: undefined }),
            legend: fc.constantFrom('auto', 'top-left', 'bottom-right', 'none' as const),
          }),
          (chartSpec) => {
            const image = decodePng(renderLineChart(chartSpec as LineChartSpec));
            expect(image).to.deep.include({ width: chartSpec.width, height: chartSpec.height, channels: 3 });
          },
        ),
        { numRuns: 150 },
      );
    });

    it('refuses a size that is not a positive integer', () => {
      expect(() => renderLineChart({ ...spec, width: 0 })).to.throw(RangeError);
      expect(() => renderLineChart({ ...spec, height: 10.5 })).to.throw(RangeError);
    });
  });

  describe('renderPanels', () => {
    const chart = (title: string, height: number, color: string): LineChartSpec => ({
      title,
      width: 320,
      height,
      xLabel: 'x',
      yLabel: 'y',
      xScale: 'linear',
      yScale: 'linear',
      legend: 'none',
      series: [{ name: title, points: [[0, 0], [1, 1]], color }],
    });

    it('stacks the charts top to bottom, each as drawn alone', () => {
      const top = chart('top', 200, '#ff0000');
      const bottom = chart('bottom', 150, '#0000ff');
      const image = decodePng(renderPanels([top, bottom]));
      expect(image).to.deep.include({ width: 320, height: 350, channels: 3 });
      const alone = decodePng(renderLineChart(bottom));
      expect(Buffer.from(image.pixels.subarray(200 * 320 * 3)).equals(Buffer.from(alone.pixels))).to.equal(true);
      // countColor counts outside the region it is given.
      const band = (y0: number, y1: number) => ({ x: 0, y: y0, width: 320, height: y1 - y0 });
      expect(countColor(image, [255, 0, 0], band(200, 350))).to.be.greaterThan(50);
      expect(countColor(image, [255, 0, 0], band(0, 200)), 'the top series below its panel').to.equal(0);
      expect(countColor(image, [0, 0, 255], band(200, 350)), 'the bottom series above its panel').to.equal(0);
    });

    it('refuses no charts, or charts of different widths', () => {
      expect(() => renderPanels([])).to.throw(RangeError);
      expect(() => renderPanels([chart('a', 100, '#000000'), { ...chart('b', 100, '#000000'), width: 321 }])).to.throw(RangeError);
    });
  });
});
