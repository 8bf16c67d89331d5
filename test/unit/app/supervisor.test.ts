import { describe, expect, it } from 'vitest';
import { EngineSupervisor } from '../../../src-main/app/engine-supervisor';
import type { AppEvent } from '../../../src-main/ipc/contract';
import { FakeUtilityProcess } from './electron-mock';

describe('EngineSupervisor', () => {
  it('stops restarting after a crash loop and says so', () => {
    const forks: FakeUtilityProcess[] = [];
    const events: AppEvent[] = [];
    const sup = new EngineSupervisor(() => {
      const p = new FakeUtilityProcess('x', []);
      forks.push(p);
      return p as never;
    }, (e) => events.push(e), { maxCrashes: 2 });
    sup.start();
    forks[0].emit('exit', 1);
    forks[1].emit('exit', 1);
    forks[2].emit('exit', 1);
    expect(forks).toHaveLength(3);
    const last = events.at(-1) as Extract<AppEvent, { type: 'engine.restarted' }>;
    expect(last.reason).toMatch(/not restarted again/);
  });

  it('does not restart after a deliberate stop', () => {
    const forks: FakeUtilityProcess[] = [];
    const sup = new EngineSupervisor(() => {
      const p = new FakeUtilityProcess('x', []);
      forks.push(p);
      return p as never;
    }, () => undefined);
    sup.start();
    sup.stop();
    forks[0].emit('exit', 0);
    expect(forks).toHaveLength(1);
    expect(forks[0].killed).toBe(true);
  });
});
