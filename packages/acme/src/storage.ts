import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, unlink, utimes, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';

/** Files hold keys: readable by the gateway's user only, as are the folders. */
const FILE_MODE = 0o600;
const DIR_MODE = 0o700;
/** A lock nobody has touched for this long belongs to an instance that died: it is taken over. */
export const STALE_LOCK_MS = 5 * 60_000;

/**
 * One CA's corner of `storage`: the account key, the certificate (key and chain in one file, so a
 * reader never sees a new key with an old chain), pending http-01 answers for other instances, and
 * the lock that lets one instance order at a time. Writes go to a temporary file, then a rename.
 *
 * storage/<ca>/account.key, account.json, certificate.pem, lock, challenges/<token>
 */
export class AcmeStorage {
  readonly dir: string;

  constructor(root: string, directoryUrl: string, domains: readonly string[]) {
    const ca = new URL(directoryUrl);
    const caDir = `${ca.host}${ca.pathname}`.replace(/[^A-Za-z0-9.-]+/g, '_');
    this.dir = join(root, caDir, domains[0]!);
  }

  async init(): Promise<void> {
    await mkdir(join(this.dir, 'challenges'), { recursive: true, mode: DIR_MODE });
  }

  read(name: string): Promise<string | undefined> {
    return readFile(join(this.dir, name), 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
  }

  async write(name: string, text: string): Promise<void> {
    const path = join(this.dir, name);
    const temp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(temp, text, { mode: FILE_MODE, flag: 'wx' });
    try {
      await rename(temp, path);
    } catch (err) {
      await unlink(temp).catch(() => {});
      throw err;
    }
  }

  remove(name: string): Promise<void> {
    return rm(join(this.dir, name), { force: true });
  }

  /**
   * Takes the lock (a file made with O_EXCL), or returns undefined while another instance holds it.
   * A lock untouched for `STALE_LOCK_MS` is removed first. The holder keeps it fresh (`touch`).
   */
  async lock(now = Date.now()): Promise<AcmeLock | undefined> {
    const path = join(this.dir, 'lock');
    for (let attempt = 0; attempt < 2; attempt++) {
      try {
        const file = await open(path, 'wx', FILE_MODE);
        await file.writeFile(
          JSON.stringify({ host: hostname(), pid: process.pid, at: new Date(now).toISOString() }),
        );
        await file.close();
        return new AcmeLock(path);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        const held = await stat(path).catch(() => undefined);
        if (held && now - held.mtimeMs < STALE_LOCK_MS) return undefined;
        await rm(path, { force: true });
      }
    }
    return undefined;
  }
}

export class AcmeLock {
  constructor(private readonly path: string) {}

  /** Tells other instances the holder is alive. */
  touch(): Promise<void> {
    const now = new Date();
    return utimes(this.path, now, now).catch(() => {});
  }

  release(): Promise<void> {
    return rm(this.path, { force: true });
  }
}
