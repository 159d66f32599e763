/** CPU budget (src/lib/cpu-budget.ts): cgroup v1/v2 quota parsing and lookup on a fake /sys, capped affinity. */
import { describe, expect, it } from 'vitest';
import {
  cgroupCpuQuota,
  cpuBudget,
  parseCfsQuota,
  parseCpuMax,
  type ReadText,
} from '../../src/lib/cpu-budget.js';

const fs =
  (files: Record<string, string>): ReadText =>
  (p) =>
    files[p];

describe('parsing', () => {
  it.each([
    ['max 100000', undefined],
    ['150000 100000', 1.5],
    ['50000 100000\n', 0.5],
    ['0 100000', undefined],
    ['100000 0', undefined],
    ['-1 100000', undefined],
    ['', undefined],
    ['100000', undefined],
    ['lots 100000', undefined],
  ])('cpu.max %j → %j', (text, cpus) => {
    expect(parseCpuMax(text)).toBe(cpus);
  });

  it.each([
    ['-1', '100000', undefined],
    ['200000\n', '100000\n', 2],
    ['25000', '100000', 0.25],
    ['x', '100000', undefined],
    ['100000', '0', undefined],
    ['1.5', '1', undefined],
  ])('cfs quota %j / period %j → %j', (q, p, cpus) => {
    expect(parseCfsQuota(q, p)).toBe(cpus);
  });
});

describe('cgroupCpuQuota', () => {
  it('v2: the process’s own cgroup (host view)', () => {
    const read = fs({
      '/proc/self/cgroup': '0::/kubepods/pod1/ctr\n',
      '/sys/fs/cgroup/kubepods/pod1/ctr/cpu.max': '100000 100000\n',
      '/sys/fs/cgroup/cpu.max': 'max 100000\n',
    });
    expect(cgroupCpuQuota(read)).toBe(1);
  });

  it('v2: the mount root, where a container sees its own cgroup', () => {
    const read = fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': '50000 100000\n' });
    expect(cgroupCpuQuota(read)).toBe(0.5);
  });

  it('v1: the cpu controller’s hierarchy, also when mounted as cpu,cpuacct', () => {
    const cgroup = '12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n0::/\n';
    const read = fs({
      '/proc/self/cgroup': cgroup,
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_quota_us': '300000\n',
      '/sys/fs/cgroup/cpu,cpuacct/docker/abc/cpu.cfs_period_us': '100000\n',
    });
    expect(cgroupCpuQuota(read)).toBe(3);
  });

  it('no quota anywhere (v1 -1, v2 max) or nothing readable → undefined', () => {
    expect(
      cgroupCpuQuota(
        fs({
          '/proc/self/cgroup': '1:cpu:/\n0::/\n',
          '/sys/fs/cgroup/cpu.max': 'max 100000',
          '/sys/fs/cgroup/cpu/cpu.cfs_quota_us': '-1',
          '/sys/fs/cgroup/cpu/cpu.cfs_period_us': '100000',
        }),
      ),
    ).toBeUndefined();
    expect(cgroupCpuQuota(fs({}))).toBeUndefined();
  });
});

describe('cpuBudget', () => {
  const quota = (q: string): ReadText => fs({ '/proc/self/cgroup': '0::/\n', '/sys/fs/cgroup/cpu.max': q });
  it('caps the affinity mask by the quota, rounded up, never below one', () => {
    expect(cpuBudget(quota('50000 100000'), 8)).toBe(1);
    expect(cpuBudget(quota('100000 100000'), 8)).toBe(1);
    expect(cpuBudget(quota('250000 100000'), 8)).toBe(3);
    expect(cpuBudget(quota('400000 100000'), 2)).toBe(2);
    expect(cpuBudget(quota('max 100000'), 4)).toBe(4);
    expect(cpuBudget(fs({}), 1)).toBe(1);
  });
});
