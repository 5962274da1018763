/**
 * The in-flight gauge the bench's `mesh` section reads at the Kubernetes API double: counts what
 * is open at once and the peak, and the double opens a request on arrival and closes it on its
 * answer, throttled answers included. Requests are held open by an unfinished body (the double
 * reads the body before answering), so nothing waits on a clock.
 */
import { request, type ClientRequest } from 'node:http';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { InFlightGauge } from '../support/in-flight-gauge.js';
import { isWorkloadEntryWrite, KubernetesApiDouble } from '../support/kubernetes-api-double.js';

describe('InFlightGauge', () => {
  it('counts what is open now, the most open at once, and every one opened', () => {
    const gauge = new InFlightGauge();
    const first = gauge.enter();
    const second = gauge.enter();
    expect([gauge.current, gauge.peak, gauge.total]).toEqual([2, 2, 2]);
    first();
    first(); // closing twice closes once
    expect([gauge.current, gauge.peak, gauge.total]).toEqual([1, 2, 2]);
    second();
    gauge.enter()();
    expect([gauge.current, gauge.peak, gauge.total]).toEqual([0, 2, 3]);
  });
});

describe('KubernetesApiDouble.watchInFlight', () => {
  let double: KubernetesApiDouble | undefined;
  afterEach(async () => {
    await double?.stop();
    double = undefined;
  });

  const ENTRIES = '/apis/networking.istio.io/v1/namespaces/bookinfo/workloadentries';
  /** A request whose (chunked, even for DELETE and GET) body is not finished: the double has it, and answers only after `finish`. */
  const held = (method: string, path: string) => {
    const req: ClientRequest = request(`${double!.url}${path}`, { method, headers: { authorization: 'Bearer t', 'content-type': 'application/json', 'transfer-encoding': 'chunked' } });
    const answered = new Promise<number>((resolve, reject) => {
      req.on('response', (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
    });
    req.flushHeaders();
    return { finish: () => (req.end(), answered) };
  };
  const arrived = (count: number) => vi.waitFor(() => expect(double!.requests).toHaveLength(count));

  it('counts the matching requests open at once, from arrival to answer', async () => {
    double = await KubernetesApiDouble.start({ token: 't' });
    const gauge = double.watchInFlight(isWorkloadEntryWrite);
    const writes = [held('POST', ENTRIES), held('DELETE', `${ENTRIES}/a`), held('PATCH', `${ENTRIES}/b`)];
    const read = held('GET', ENTRIES);
    const groupWrite = held('POST', '/apis/networking.istio.io/v1/namespaces/bookinfo/workloadgroups');
    await arrived(5);
    expect([gauge.current, gauge.peak]).toEqual([3, 3]);

    await Promise.all([...writes, read, groupWrite].map((r) => r.finish()));
    expect([gauge.current, gauge.peak, gauge.total]).toEqual([0, 3, 3]);
    await held('PUT', `${ENTRIES}/a/status`).finish();
    expect([gauge.current, gauge.peak, gauge.total]).toEqual([0, 3, 4]);
  });

  it('counts a request the priority-and-fairness seats refuse while it is open, as the load it is', async () => {
    double = await KubernetesApiDouble.start({ token: 't' });
    const gauge = double.watchInFlight(isWorkloadEntryWrite);
    double.setPriorityAndFairness({ seats: 0 });
    const write = held('POST', ENTRIES);
    await arrived(1);
    expect(gauge.current).toBe(1);
    expect(await write.finish()).toBe(429);
    expect([gauge.current, gauge.peak, gauge.total]).toEqual([0, 1, 1]);
  });
});
