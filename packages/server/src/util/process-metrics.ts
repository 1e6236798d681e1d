import { collectDefaultMetrics, Registry } from 'prom-client';

let processRegistry: Registry | undefined;

/**
 * prom-client's default collectors (CPU, memory, heap, GC, event-loop lag, handles, open file
 * descriptors), once per process on a registry of their own: the gateway's and the auth
 * service's /metrics both show it (merged at scrape time), and two services in one process
 * (`gatehouse start`, tests) don't register them twice.
 */
export function processMetrics(): Registry {
  if (processRegistry === undefined) {
    processRegistry = new Registry();
    collectDefaultMetrics({ register: processRegistry });
  }
  return processRegistry;
}

/** The exposition of several registries as one (each metric name must be in one only). */
export async function mergedMetrics(registries: readonly Registry[]): Promise<string> {
  return Registry.merge([...registries]).metrics();
}
