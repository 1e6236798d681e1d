// Preloaded into a process the benchmarks start (`node --import ./bench/eld-probe.mjs …`):
// measures that process's event-loop delay with perf_hooks.monitorEventLoopDelay, without any
// code in the product. On SIGUSR2 it writes {p50, p99, max, mean} (ms) since the last signal to
// the file named by GATEHOUSE_BENCH_ELD_FILE, then resets. The histogram holds the intervals of a
// 1 ms timer; the delay is the interval minus that 1 ms. Benchmarks only.
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.GATEHOUSE_BENCH_ELD_FILE;
if (file) {
  const RESOLUTION_MS = 1;
  const h = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  h.enable();
  const ms = (ns) => Math.max(0, Math.round(ns / 1e4) / 100 - RESOLUTION_MS);
  process.on('SIGUSR2', () => {
    const out = { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean), samples: h.count ?? null };
    h.reset();
    writeFileSync(file, JSON.stringify(out));
  });
}
