import { describe, expect, it } from "vitest";
import { InlineGovernor } from "../src/io.ts";

/** A governor on a clock the test moves: each call "takes" the time it is given. */
function governed() {
  let now = 0;
  const governor = new InlineGovernor({ slowMs: 1, pauseMs: 30_000, now: () => now });
  return {
    governor,
    call: (ms: number) =>
      governor.time(() => {
        now += ms;
      }),
    wait: (ms: number) => {
      now += ms;
    },
  };
}

describe("InlineGovernor", () => {
  it("keeps inline calls while they are quick, whatever their number", () => {
    const { governor, call } = governed();
    for (let i = 0; i < 10_000; i++) call(0.02);
    expect(governor.allows()).toBe(true);
  });

  it("shrugs off calls preempted for a scheduler slice now and then", () => {
    const { governor, call } = governed();
    for (let i = 0; i < 1000; i++) call(i % 10 === 0 ? 50 : 0.02);
    expect(governor.allows()).toBe(true);
  });

  it("sends calls to the pool for the pause once most block, then tries again", () => {
    const { governor, call, wait } = governed();
    let calls = 0;
    while (governor.allows() && calls < 1000) {
      call(calls % 3 === 0 ? 0.02 : 2); // two calls in three wait 2 ms: a network volume
      calls++;
    }
    expect(governor.allows()).toBe(false);
    expect(calls).toBeLessThan(32);
    wait(29_999);
    expect(governor.allows()).toBe(false);
    wait(1);
    expect(governor.allows()).toBe(true);
    call(2); // judged afresh: one slow call is not a slow volume
    expect(governor.allows()).toBe(true);
  });
});
