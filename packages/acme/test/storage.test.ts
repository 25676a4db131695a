import { mkdtemp, readdir, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AcmeStorage, STALE_LOCK_MS } from '../src/storage.js';

describe('AcmeStorage', () => {
  let root: string;
  let storage: AcmeStorage;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'lucid-acme-storage-'));
    storage = new AcmeStorage(root, 'https://acme-staging-v02.api.letsencrypt.org/directory', [
      'api.example.org',
    ]);
    await storage.init();
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('keeps each CA apart (staging never lends production its account or certificate)', () => {
    const production = new AcmeStorage(root, 'https://acme-v02.api.letsencrypt.org/directory', [
      'api.example.org',
    ]);
    expect(production.dir).not.toBe(storage.dir);
    expect(storage.dir.startsWith(root)).toBe(true);
  });

  it('writes files 0600 by a rename, so a reader sees the old text or the new, never half', async () => {
    await storage.write('certificate.pem', 'one');
    await storage.write('certificate.pem', 'two');
    expect(await storage.read('certificate.pem')).toBe('two');
    expect((await stat(join(storage.dir, 'certificate.pem'))).mode & 0o777).toBe(0o600);
    expect((await stat(storage.dir)).mode & 0o777).toBe(0o700);
    expect((await readdir(storage.dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(await storage.read('missing')).toBeUndefined();
  });

  it('lets one holder have the lock, and takes over a lock nobody kept fresh', async () => {
    const first = await storage.lock();
    expect(first).toBeDefined();
    expect(await storage.lock()).toBeUndefined();
    // The holder died: its lock file is older than the stale limit.
    const old = new Date(Date.now() - STALE_LOCK_MS - 1_000);
    await utimes(join(storage.dir, 'lock'), old, old);
    const second = await storage.lock();
    expect(second).toBeDefined();
    await second!.release();
    expect(await storage.lock()).toBeDefined();
  });
});
