import { type FSWatcher, watch } from 'node:fs';
import { basename, dirname, resolve } from 'node:path';

/**
 * Calls `onChange` when any of `files` changes. Watches their folders, not the files, so an
 * editor's save-by-rename is seen too; bursts of events within `settleMs` count as one change.
 *
 * @example const stop = watchFiles(['gateway.yaml'], () => reload('watch'))
 */
export function watchFiles(files: string[], onChange: (file: string) => void, settleMs = 150): () => void {
  const byDir = new Map<string, Set<string>>();
  for (const f of files.map((x) => resolve(x))) {
    const names = byDir.get(dirname(f)) ?? new Set<string>();
    names.add(basename(f));
    byDir.set(dirname(f), names);
  }
  let timer: NodeJS.Timeout | undefined;
  const watchers: FSWatcher[] = [];
  for (const [dir, names] of byDir) {
    const watcher = watch(dir, { persistent: false }, (_event, name) => {
      if (name === null || !names.has(name.toString())) return;
      clearTimeout(timer);
      timer = setTimeout(() => onChange(resolve(dir, name.toString())), settleMs);
    });
    watcher.on('error', () => {});
    watchers.push(watcher);
  }
  return function stopWatching() {
    clearTimeout(timer);
    for (const w of watchers) w.close();
  };
}
