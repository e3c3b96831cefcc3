/**
 * Several line charts in one PNG, one above the other: two views of one run (goodput and
 * latency against the same offered load) read together, in one picture to link.
 */
import { drawLineChart, type LineChartSpec } from './line-chart.js';
import { encodePng } from './png.js';

/** Draws each chart (all of one width) and stacks them top to bottom, in order. */
export function renderPanels(specs: readonly LineChartSpec[]): Buffer {
  if (specs.length === 0) throw new RangeError('panels need at least one chart');
  const rasters = specs.map((spec) => drawLineChart(spec).raster);
  const width = rasters[0]!.width;
  if (rasters.some((r) => r.width !== width)) throw new RangeError(`panels must be of one width, got ${rasters.map((r) => r.width).join(', ')}`);
  const height = rasters.reduce((sum, r) => sum + r.height, 0);
  const data = new Uint8Array(width * height * 3);
  let offset = 0;
  for (const raster of rasters) {
    // Rows are contiguous and of one width, so each chart is one block of bytes.
    data.set(raster.data, offset);
    offset += raster.data.length;
  }
  return encodePng({ width, height, channels: 3, data });
}
