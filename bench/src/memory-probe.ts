import type { BackendName } from "./backend.ts";
import { mesiboForm, type RunningGateway } from "./gateway.ts";
import { keepAliveAgent, uploadOnce } from "./http-client.ts";
import type { MemoryProbe } from "./results.ts";
import { RssSampler } from "./rss-sampler.ts";
import type { Purge } from "./suite-context.ts";
import { MiB } from "./units.ts";

/**
 * Streams one large file into a gateway that has served nothing yet, reading its resident
 * set from outside: what the memory target asks, undisturbed by garbage other cells leave.
 */
export async function memoryProbe(
  backend: BackendName,
  gateway: RunningGateway,
  size: number,
  purge: Purge,
): Promise<MemoryProbe> {
  const sampler = new RssSampler(gateway.child.pid);
  const idleRssBytes = sampler.currentBytes();
  const agent = keepAliveAgent();
  sampler.start();
  const t0 = performance.now();
  try {
    await uploadOnce(agent, gateway.uploadUrl, mesiboForm(0, size), size);
    const seconds = (performance.now() - t0) / 1000;
    const { peakBytes } = sampler.stop();
    const stored = await purge();
    if (stored.bytes < size) {
      return { backend, size, status: "failed", note: `stored ${stored.bytes} of ${size} bytes` };
    }
    return {
      backend,
      size,
      status: "ok",
      idleRssBytes,
      peakRssBytes: peakBytes,
      mibPerSec: size / MiB / seconds,
    };
  } catch (err) {
    sampler.stop();
    return { backend, size, status: "failed", note: (err as Error).message };
  } finally {
    agent.destroy();
  }
}
