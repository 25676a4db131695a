import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/** uPlot's own files, as the npm package ships them, by the name the page asks for. */
const FILES = { 'uplot.js': 'dist/uPlot.iife.min.js', 'uplot.css': 'dist/uPlot.min.css' } as const;

export type ChartAsset = keyof typeof FILES;

let loaded: Promise<Record<ChartAsset, string>> | undefined;

/**
 * The chart library's script and style, read from the `uplot` package on the first request for
 * either (a gateway whose dashboard nobody opens never reads them), served from the gateway itself.
 */
export function chartAsset(name: ChartAsset): Promise<string> {
  loaded ??= (async () => {
    const dir = dirname(createRequire(import.meta.url).resolve('uplot/package.json'));
    const [js, css] = await Promise.all([
      readFile(join(dir, FILES['uplot.js']), 'utf8'),
      readFile(join(dir, FILES['uplot.css']), 'utf8'),
    ]);
    return { 'uplot.js': js, 'uplot.css': css };
  })();
  loaded.catch(() => {
    loaded = undefined; // a later request tries again
  });
  return loaded.then((files) => files[name]);
}
