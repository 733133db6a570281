import type { DriverScheduler } from '@sofareg/data-core';

/** The driver's time in a server: the wall clock, timers that never keep the process alive, `setImmediate`. */
export const wallClockScheduler: DriverScheduler = {
  now: () => Date.now(),
  after: (delayMs, run) => {
    const timer = setTimeout(run, delayMs);
    timer.unref();
    return () => clearTimeout(timer);
  },
  soon: (run) => void setImmediate(run),
};
