import { MetricUnit, type Metrics } from '@aws-lambda-powertools/metrics';
import type { MetricPoint } from '../../shared/core/batch-metrics.js';

/**
 * Stores points on `metrics`; a point with dimensions of its own is published at once as its
 * own EMF blob (Powertools' single metric), since one blob carries one dimension set.
 */
export function emitMetrics(metrics: Metrics, points: MetricPoint[]): void {
  for (const point of points) {
    if (!point.dimensions) {
      metrics.addMetric(point.name, MetricUnit[point.unit], point.value);
      continue;
    }
    const single = metrics.singleMetric();
    single.addDimensions(point.dimensions);
    single.addMetric(point.name, MetricUnit[point.unit], point.value);
  }
}
