/**
 * Measurements of the dashboard in the page (Chromium via playwright-core), shared by the graph scale tests and
 * `npm run bench:dashboard`: nodes outside the view, overlapping labels, selection latency, main-thread long tasks
 * (PerformanceObserver 'longtask'), frame gaps, WCAG contrast of every visible text, horizontal overflow.
 */
import type { Page } from 'playwright-core';

// The page-side functions below run in Chromium; the Node tsconfig has no DOM lib (and adding it would leak into
// every Node file), so the few page globals they use are declared here, module-scoped and untyped.
// biome-ignore lint/suspicious/noExplicitAny: page globals, see above
declare const window: any, document: any, requestAnimationFrame: any, getComputedStyle: any, CSS: any;
// biome-ignore lint/suspicious/noExplicitAny: page globals, see above
declare const MouseEvent: any, NodeFilter: any, SVGElement: any, SVGSVGElement: any, PerformanceObserver: any;
// biome-ignore lint/suspicious/noExplicitAny: a page element
type Element = any;

/** Installs, before any page script, a long-task and frame recorder (`window.__probe`). */
export async function installProbe(page: Page): Promise<void> {
  // A string, not a function: tsx's transform may wrap named inner functions in a helper the page lacks.
  await page.addInitScript(`{
    const probe = { longTasks: [], frames: [], recording: false };
    window.__probe = probe;
    try {
      new PerformanceObserver((list) => {
        for (const e of list.getEntries()) probe.longTasks.push({ start: e.startTime, duration: e.duration });
      }).observe({ type: 'longtask', buffered: true });
    } catch {
      // no longtask support: longTasksSupported() says so
    }
    let last = 0;
    const tick = (t) => {
      if (probe.recording && last) probe.frames.push(t - last);
      last = t;
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }`);
}

/** Whether this Chromium reports long tasks at all (so "none seen" means something). */
export function longTasksSupported(page: Page): Promise<boolean> {
  return page.evaluate(() => PerformanceObserver.supportedEntryTypes.includes('longtask'));
}

/** Starts a recording window: clears long tasks and frames. */
export async function startRecording(page: Page): Promise<void> {
  await page.evaluate(() => {
    const p = (
      window as unknown as { __probe: { longTasks: unknown[]; frames: number[]; recording: boolean } }
    ).__probe;
    p.longTasks.length = 0;
    p.frames.length = 0;
    p.recording = true;
  });
}

/** What the page did since `startRecording`. */
export interface Recording {
  /** Durations of main-thread long tasks (> 50 ms by definition of the API), ms. */
  longTasks: number[];
  frames: number;
  /** Frames that took longer than two vsyncs (≥ 33 ms): at least one frame dropped. */
  slowFrames: number;
  /** Longest frame gap, ms. */
  worstFrame: number;
}

/** Stops recording and returns it. */
export function stopRecording(page: Page): Promise<Recording> {
  return page.evaluate(() => {
    const p = (
      window as unknown as {
        __probe: { longTasks: { duration: number }[]; frames: number[]; recording: boolean };
      }
    ).__probe;
    p.recording = false;
    return {
      longTasks: p.longTasks.map((t) => t.duration),
      frames: p.frames.length,
      slowFrames: p.frames.filter((f) => f >= 33).length,
      worstFrame: Math.max(0, ...p.frames),
    };
  });
}

/** Node shapes of the graph whose box is not entirely inside the graph's box, and how many nodes there are. */
export function nodesOutside(page: Page): Promise<{ total: number; outside: string[] }> {
  return page.evaluate(() => {
    const svg = document.querySelector('svg.graph')!.getBoundingClientRect();
    const outside: string[] = [];
    const nodes = [...document.querySelectorAll('svg.graph g.node')];
    for (const n of nodes) {
      const b = n.querySelector('circle, rect')!.getBoundingClientRect();
      if (b.left < svg.left || b.top < svg.top || b.right > svg.right || b.bottom > svg.bottom) {
        outside.push(n.dataset.node ?? '?');
      }
    }
    return { total: nodes.length, outside };
  });
}

/** Pairs of visible graph labels (node and edge) whose rendered boxes overlap, and how many labels are visible. */
export function labelOverlaps(page: Page): Promise<{ visible: number; total: number; pairs: string[] }> {
  return page.evaluate(() => {
    const all = [...document.querySelectorAll('svg.graph text')];
    const vis = all
      .filter((t) => getComputedStyle(t).display !== 'none' && (t.textContent ?? '') !== '')
      .map((t) => ({ t: t.textContent ?? '', b: t.getBoundingClientRect() }))
      .filter((x) => x.b.width > 0 && x.b.height > 0);
    const pairs: string[] = [];
    for (let i = 0; i < vis.length; i++) {
      for (let j = i + 1; j < vis.length; j++) {
        const a = vis[i]!.b;
        const b = vis[j]!.b;
        // One pixel of tolerance: glyph boxes include the font's line gap.
        if (a.left < b.right - 1 && b.left < a.right - 1 && a.top < b.bottom - 1 && b.top < a.bottom - 1) {
          pairs.push(`${vis[i]!.t} × ${vis[j]!.t}`);
        }
      }
    }
    return { visible: vis.length, total: all.length, pairs };
  });
}

/**
 * Clicks node `id` (a real DOM click event) and waits until the detail panel names it and the next frame is
 * painted; returns the elapsed time in ms, measured in the page.
 */
export function selectLatency(page: Page, id: string, label: string): Promise<number> {
  return page.evaluate(
    async ({ id, label }) => {
      const el = document.querySelector(`svg.graph g.node[data-node="${CSS.escape(id)}"]`)!;
      const t0 = performance.now();
      el.dispatchEvent(new MouseEvent('click', { bubbles: true }));
      for (;;) {
        await new Promise((r) => requestAnimationFrame(() => r(undefined)));
        if (document.querySelector('[data-testid=selected-label]')?.textContent === label) break;
        if (performance.now() - t0 > 5000) throw new Error('selection never showed');
      }
      return performance.now() - t0;
    },
    { id, label },
  );
}

/** The graph's zoom transform as the canvas reports it ("x,y,k"). */
export function zoomTransform(page: Page): Promise<string | null> {
  return page.locator('svg.graph').getAttribute('data-transform');
}

/**
 * Texts whose contrast against their effective background is below WCAG 2.2 AA (1.4.3: 4.5:1, 3:1 for large
 * text ≥ 24 px or ≥ 18.66 px bold). Disabled controls are exempt (1.4.3 "incidental"). SVG text uses its fill and
 * its halo/graph background (white).
 */
export function contrastFailures(page: Page): Promise<string[]> {
  return page.evaluate(() => {
    const parse = (c: string): [number, number, number, number] | undefined => {
      const m = /rgba?\(([\d.]+)[, ]+([\d.]+)[, ]+([\d.]+)(?:[,/ ]+([\d.]+))?\)/.exec(c);
      return m
        ? [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? 1 : Number(m[4])]
        : undefined;
    };
    const lum = ([r, g, b]: number[]) => {
      const f = (v: number) => {
        const s = v / 255;
        return s <= 0.04045 ? s / 12.92 : ((s + 0.055) / 1.055) ** 2.4;
      };
      return 0.2126 * f(r!) + 0.7152 * f(g!) + 0.0722 * f(b!);
    };
    const over = (top: number[], under: number[]) => {
      const a = top[3]!;
      return [0, 1, 2].map((i) => top[i]! * a + under[i]! * (1 - a)).concat(1);
    };
    // Background: composite the ancestors' background colours from the root down.
    const bgOf = (el: Element): number[] => {
      const chain: Element[] = [];
      for (let e: Element | null = el; e; e = e.parentElement) chain.unshift(e);
      let bg = [255, 255, 255, 1];
      for (const e of chain) {
        if (e instanceof SVGElement && !(e instanceof SVGSVGElement)) continue;
        const c = parse(getComputedStyle(e).backgroundColor);
        if (c && c[3] > 0) bg = over(c, bg);
      }
      return bg;
    };
    const fails: string[] = [];
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    const seen = new Set<Element>();
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const el = n.parentElement;
      if (!el || seen.has(el) || !(n.textContent ?? '').trim()) continue;
      seen.add(el);
      const cs = getComputedStyle(el);
      if (
        cs.display === 'none' ||
        cs.visibility === 'hidden' ||
        el.closest('[hidden], details:not([open]) > :not(summary)')
      )
        continue;
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.height === 0) continue;
      if (el.closest('button:disabled, input:disabled, select:disabled, option, datalist, title')) continue;
      const svgText = el instanceof SVGElement;
      const fg = parse(svgText ? cs.fill : cs.color);
      if (!fg) continue;
      let opacity = 1;
      for (let e: Element | null = el; e; e = e.parentElement) opacity *= Number(getComputedStyle(e).opacity);
      const bg = svgText ? [255, 255, 255, 1] : bgOf(el);
      const fgc = over([fg[0], fg[1], fg[2], fg[3] * opacity], bg);
      const [l1, l2] = [lum(fgc), lum(bg)].sort((a, b) => b - a) as [number, number];
      const ratio = (l1 + 0.05) / (l2 + 0.05);
      const size = Number.parseFloat(cs.fontSize);
      const large = size >= 24 || (size >= 18.66 && Number(cs.fontWeight) >= 700);
      if (ratio < (large ? 3 : 4.5)) {
        fails.push(
          `${el.tagName.toLowerCase()}.${el.getAttribute('class') ?? ''} "${(n.textContent ?? '').trim().slice(0, 30)}" ${ratio.toFixed(2)}`,
        );
      }
    }
    return fails;
  });
}

/** Whether the page scrolls sideways (the body is wider than the viewport). */
export function horizontalOverflow(page: Page): Promise<number> {
  return page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
}

/** One main-thread task of the renderer from a Chromium trace. */
export interface TracedTask {
  /** Wall-clock duration, ms (what a user waits; stretched when the OS deschedules the renderer). */
  wallMs: number;
  /** CPU time the renderer's main thread spent in it, ms (the page's own cost). */
  cpuMs: number;
}

/** A running Chromium trace of the page's renderer main thread (CDP `Tracing`). */
export interface PageTrace {
  /** Stops tracing; resolves with the main-thread tasks longer than `minWallMs` of wall time. */
  stop(minWallMs?: number): Promise<TracedTask[]>;
}

/**
 * Traces the page's main-thread tasks (`RunTask` events: `dur` wall time, `tdur` thread CPU time). On a shared
 * machine a long task's wall time includes time the OS ran other processes; its CPU time is what the page cost.
 */
export async function startTrace(page: Page): Promise<PageTrace> {
  const cdp = await page.context().newCDPSession(page);
  const events: {
    name: string;
    ph: string;
    dur?: number;
    tdur?: number;
    tid: number;
    pid: number;
    args?: { name?: string };
  }[] = [];
  cdp.on('Tracing.dataCollected', (e) => {
    events.push(...(e.value as unknown as typeof events));
  });
  await cdp.send('Tracing.start', {
    traceConfig: { includedCategories: ['toplevel', 'disabled-by-default-devtools.timeline', '__metadata'] },
    transferMode: 'ReportEvents',
  });
  return {
    async stop(minWallMs = 50) {
      const done = new Promise<void>((r) => cdp.once('Tracing.tracingComplete', () => r()));
      await cdp.send('Tracing.end');
      await done;
      await cdp.detach().catch(() => undefined);
      // The renderer main thread: thread_name metadata "CrRendererMain" of the process that ran page script.
      const mains = new Set(
        events
          .filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain')
          .map((e) => `${e.pid}:${e.tid}`),
      );
      return events
        .filter(
          (e) =>
            e.name === 'RunTask' &&
            e.ph === 'X' &&
            mains.has(`${e.pid}:${e.tid}`) &&
            (e.dur ?? 0) / 1000 > minWallMs,
        )
        .map((e) => ({ wallMs: (e.dur ?? 0) / 1000, cpuMs: (e.tdur ?? 0) / 1000 }));
    },
  };
}
