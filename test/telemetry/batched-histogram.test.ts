import type { Attributes, Histogram } from '@opentelemetry/api';
import { expect } from 'chai';
import fc from 'fast-check';
import { DataPointType, type HistogramMetricData } from '@opentelemetry/sdk-metrics';
import { BatchedHistogram } from '../../src/telemetry/batched-histogram.js';
import { activeInstruments } from '../../src/telemetry/instruments.js';
import { METRIC_OPERATION_DURATION } from '../../src/telemetry/names.js';
import { OtelHarness } from '../helpers/otel.js';

/** A histogram that keeps what reaches it. */
class RecordingHistogram implements Histogram {
  readonly points: Array<[number, Attributes | undefined]> = [];
  record(value: number, attributes?: Attributes): void {
    this.points.push([value, attributes]);
  }
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('BatchedHistogram', () => {
  it('hands the SDK every point, in order, with its own attribute object, on flush', () => {
    const sdk = new RecordingHistogram();
    const histogram = new BatchedHistogram(sdk);
    const ok = Object.freeze({ outcome: 'success' });
    const failed = Object.freeze({ outcome: 'failure' });
    histogram.record(0.5, ok);
    histogram.record(1.5, failed);
    histogram.record(0.25, ok);
    expect(sdk.points).to.deep.equal([]);
    expect(histogram.pending).to.equal(3);
    histogram.flush();
    expect(sdk.points).to.deep.equal([[0.5, ok], [1.5, failed], [0.25, ok]]);
    expect(sdk.points[1]![1]).to.equal(failed);
    expect(histogram.pending).to.equal(0);
    histogram.flush();
    expect(sdk.points).to.have.length(3);
  });

  it('flushes on the next turn of the event loop once a batch is held, and at once when full', async () => {
    const sdk = new RecordingHistogram();
    const histogram = new BatchedHistogram(sdk);
    const attributes = { outcome: 'success' };
    for (let i = 0; i < 255; i++) histogram.record(i, attributes);
    await nextTurn();
    expect(sdk.points, 'under a batch: held').to.have.length(0);
    histogram.record(255, attributes);
    expect(sdk.points, 'not on the recording call').to.have.length(0);
    await nextTurn();
    expect(sdk.points.map(([v]) => v)).to.deep.equal(Array.from({ length: 256 }, (_, i) => i));
    // A burst within one turn: the record that fills the buffer flushes it.
    for (let i = 0; i < 1024; i++) histogram.record(i, attributes);
    expect(sdk.points).to.have.length(256 + 1024);
    expect(histogram.pending).to.equal(0);
  });

  it('loses only the point the SDK threw on, and never throws to the caller', () => {
    let calls = 0;
    const kept: number[] = [];
    const throwing: Histogram = {
      record(value: number) {
        calls++;
        if (value === 2) throw new Error('exporter bug');
        kept.push(value);
      },
    };
    const histogram = new BatchedHistogram(throwing);
    for (const value of [1, 2, 3]) histogram.record(value, {});
    expect(() => histogram.flush()).not.to.throw();
    expect(calls).to.equal(3);
    expect(kept).to.deep.equal([1, 3]);
  });

  it('delivers the same multiset of points as direct records, for any sequence and any flush points', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.double({ min: 0, max: 100, noNaN: true }), fc.integer({ min: 0, max: 3 }), fc.boolean()), { maxLength: 3000 }), (steps) => {
        const sets = [0, 1, 2, 3].map((n) => Object.freeze({ n }));
        const sdk = new RecordingHistogram();
        const histogram = new BatchedHistogram(sdk);
        const direct: Array<[number, Attributes]> = [];
        for (const [value, set, flushNow] of steps) {
          histogram.record(value, sets[set]!);
          direct.push([value, sets[set]!]);
          if (flushNow) histogram.flush();
        }
        histogram.flush();
        expect(sdk.points).to.deep.equal(direct);
      }),
      { numRuns: 50 },
    );
  });

  describe('in the instrument set, with a real SDK', () => {
    let otel: OtelHarness;
    beforeEach(() => {
      otel = new OtelHarness().install();
    });
    afterEach(async () => {
      await otel.uninstall();
    });

    it('puts points still held into the next collection: an export misses nothing recorded before it', async () => {
      const instruments = activeInstruments()!;
      const attributes = Object.freeze({ 'resilience.target': 'redis://cache:6379', 'resilience.outcome': 'success' });
      for (const seconds of [0.002, 0.004, 0.5]) instruments.operationDuration.record(seconds, attributes);
      expect(instruments.operationDuration.pending).to.equal(3);
      const metric = (await otel.collect()).get(METRIC_OPERATION_DURATION) as HistogramMetricData;
      expect(metric.dataPointType).to.equal(DataPointType.HISTOGRAM);
      expect(metric.dataPoints).to.have.length(1);
      const point = metric.dataPoints[0]!;
      expect(point.attributes).to.deep.equal(attributes);
      expect(point.value.count).to.equal(3);
      expect(point.value.sum).to.be.closeTo(0.506, 1e-9);
      expect(point.value.min).to.equal(0.002);
      expect(point.value.max).to.equal(0.5);
      expect(instruments.operationDuration.pending).to.equal(0);
    });
  });
});
