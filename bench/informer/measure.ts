/** What each informer contender reports on stdout as one JSON line. */
import { readFileSync } from "node:fs";

export interface InformerMeasurement {
  contender: string;
  objects: number;
  /** From starting the informer to having every object cached. */
  syncSeconds: number;
  /** After the sync and a full garbage collection: what keeping the cache costs. */
  rssBytes: number;
  heapUsedBytes: number;
  /** The process's peak resident memory (VmHWM), including the initial list. */
  peakRssBytes: number;
}

/** Peak resident set size of this process, from /proc. */
export function peakRssBytes(): number {
  const match = /VmHWM:\s+(\d+) kB/.exec(readFileSync("/proc/self/status", "utf8"));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Settles the heap and prints the measurement line. */
export async function report(
  contender: string,
  objects: number,
  syncSeconds: number,
): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const memory = process.memoryUsage();
  const measurement: InformerMeasurement = {
    contender,
    objects,
    syncSeconds,
    rssBytes: memory.rss,
    heapUsedBytes: memory.heapUsed,
    peakRssBytes: peakRssBytes(),
  };
  process.stdout.write(`${JSON.stringify(measurement)}\n`);
}
