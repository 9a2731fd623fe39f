// One process per journal directory. Two instances writing one journal (started from one working
// directory with PostgreSQL, or one volume mounted in two containers) would each take the other's
// open segment for a closed one, write it to the database and delete it while it is still being
// appended to: answered calls lost from the ledger. The lock file names its owner (pid and host) and
// is touched while it lives, so a crashed owner's lock is taken over: at once on the same host (its
// pid is gone), once it is stale on another.
import { hostname } from 'node:os';
import { join } from 'node:path';
import { mkdirSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';

const LOCK = 'journal.lock';
const TOUCH_MS = 5_000;
/** A lock not touched for this long belongs to a process that is gone. */
const STALE_MS = 20_000;

export class JournalLocked extends Error {}

interface Owner {
  pid: number;
  host: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The lock's owner, if one that may still be alive holds it (host '' when it cannot be read yet). */
function holder(file: string, now: number): Owner | null {
  let touched: number;
  try {
    touched = statSync(file).mtimeMs;
  } catch {
    return null;
  }
  let owner: Owner;
  try {
    owner = JSON.parse(readFileSync(file, 'utf8')) as Owner;
  } catch {
    // Being written this instant, or cut by a crash while written: held until it is stale.
    return now - touched < STALE_MS ? { pid: 0, host: '' } : null;
  }
  if (owner.host === hostname()) {
    // A container restarted has the pid its last life had: that one is gone.
    return owner.pid !== process.pid && alive(owner.pid) ? owner : null;
  }
  return now - touched < STALE_MS ? owner : null;
}

/**
 * Takes the journal directory for this process, waiting up to `waitMs` for a lock held from another
 * host to go stale; throws JournalLocked when another live process keeps it. Returns the release.
 */
export async function lockJournal(dir: string, waitMs = STALE_MS + TOUCH_MS): Promise<() => void> {
  mkdirSync(dir, { recursive: true });
  const file = join(dir, LOCK);
  const until = Date.now() + waitMs;
  const me = JSON.stringify({ pid: process.pid, host: hostname() } satisfies Owner);
  for (;;) {
    try {
      // Made only if absent: two processes starting at once cannot both take it.
      writeFileSync(file, me, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = holder(file, Date.now());
    if (!owner) {
      rmSync(file, { force: true }); // its owner is gone
      continue;
    }
    if (owner.host === hostname() || Date.now() >= until) {
      throw new JournalLocked(
        `the spend journal ${dir} is in use by another llm-proxy (pid ${owner.pid} on ${owner.host || 'an unknown host'}); each instance needs its own (run each from its own directory, or give each its own data volume)`,
      );
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  const timer = setInterval(() => {
    const t = new Date();
    try {
      utimesSync(file, t, t);
    } catch {
      // the directory went away: nothing to keep
    }
  }, TOUCH_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    rmSync(file, { force: true });
  };
}
