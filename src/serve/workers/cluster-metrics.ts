/**
 * /metrics of a sidecar with Check workers: the primary's registry plus every live worker's, merged by metric
 * name with prom-client's cluster aggregation (counters and histograms summed across processes; a metric's own
 * `aggregator` decides otherwise). Workers answer over the pool's channel, not prom-client's own cluster
 * listener, so a worker that dies mid-scrape is left out after 1 s instead of failing the scrape.
 */
import { AggregatorRegistry, type MetricObjectWithValues, type MetricValue, Registry } from 'prom-client';

/** Where the workers' metrics come from (the pool, once started). */
export type WorkerMetricsSource = () => Promise<MetricObjectWithValues<MetricValue<string>>[][]>;

/** A Registry whose text exposition is `own` merged with the workers' (admin server's `registry`). */
export class ClusterRegistry extends Registry {
  constructor(
    private readonly own: Registry,
    private readonly workers: WorkerMetricsSource,
  ) {
    super();
  }

  override async metrics(): Promise<string> {
    const [mine, theirs] = await Promise.all([this.own.getMetricsAsJSON(), this.workers()]);
    return AggregatorRegistry.aggregate([mine, ...theirs]).metrics();
  }
}
