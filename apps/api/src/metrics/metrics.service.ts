import { Injectable } from '@nestjs/common';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';

/** The API's Prometheus metrics, on a registry of its own (not prom-client's global one). */
@Injectable()
export class MetricsService {
  readonly registry = new Registry();

  readonly httpRequests = new Counter({
    name: 'dllm_api_http_requests_total',
    help: 'HTTP requests by method, route pattern and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [this.registry],
  });

  readonly httpDuration = new Histogram({
    name: 'dllm_api_http_request_duration_seconds',
    help: 'HTTP request latency by method and route pattern.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });

  readonly batchesAccepted = new Counter({
    name: 'dllm_api_batches_accepted_total',
    help: 'Batches accepted (replays of an Idempotency-Key not counted).',
    registers: [this.registry],
  });

  readonly itemsAccepted = new Counter({
    name: 'dllm_api_items_accepted_total',
    help: 'Items accepted across all batches.',
    registers: [this.registry],
  });

  readonly batchesRejected = new Counter({
    name: 'dllm_api_batches_rejected_total',
    help: 'Batch submissions refused by validation.',
    registers: [this.registry],
  });

  readonly reconcilerActions = new Counter({
    name: 'dllm_api_reconciler_actions_total',
    help: 'Repair loop actions taken while this API process led it (enqueued, requeued, ended, expired).',
    labelNames: ['action'] as const,
    registers: [this.registry],
  });

  constructor() {
    collectDefaultMetrics({ register: this.registry });
  }
}
