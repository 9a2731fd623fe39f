// Short-lived credentials a provider's settings are exchanged for (Google Cloud access tokens for
// Vertex AI, Microsoft Entra ID tokens for Azure, AWS's temporary keys for Bedrock): fetched once, kept,
// and refreshed in the background before they expire, so a warm deployment's calls never wait for one. Only the first call of a cold
// deployment (or one whose refresh kept failing until the token expired) waits for the fetch.

export interface FetchedToken<T = string> {
  token: T;
  /** Epoch ms when the token stops working (Infinity: never, as AWS's long-term keys). */
  expiresAt: number;
}

/** A token is refreshed this long before it expires (Google's and Microsoft's libraries use 5 minutes too). */
const REFRESH_BEFORE_MS = 5 * 60_000;
/** A token closer than this to its expiry is not handed out: a call may take that long to reach the provider. */
const USABLE_MARGIN_MS = 30_000;
/** After a failed refresh, the next try comes this much later (the old token serves meanwhile). */
const RETRY_MS = 10_000;
/** A token endpoint that has not answered by then has failed: waiting calls get an error, not a hang. */
const FETCH_TIMEOUT_MS = 15_000;

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`the token endpoint did not answer in ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, late]).finally(() => clearTimeout(timer));
}

export class TokenSource<T = string> {
  private token: FetchedToken<T> | null = null;
  private pending: Promise<T> | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** The last fetch's failure, said once in the error a waiting call gets. */
  lastError: string | null = null;

  /** Names the credential in errors (never the secret itself). */
  readonly label: string;
  private readonly fetchToken: () => Promise<FetchedToken<T>>;
  private readonly now: () => number;
  private readonly timeoutMs: number;

  constructor(label: string, fetchToken: () => Promise<FetchedToken<T>>, now: () => number = Date.now, timeoutMs = FETCH_TIMEOUT_MS) {
    this.label = label;
    this.fetchToken = fetchToken;
    this.now = now;
    this.timeoutMs = timeoutMs;
  }

  /** The token when one is good for a while longer, else null (the caller then awaits `ready()`). */
  current(): T | null {
    const t = this.token;
    return t && t.expiresAt - this.now() > USABLE_MARGIN_MS ? t.token : null;
  }

  /** The newest token while it has not expired: what a call that waited for `ready()` sends. */
  latest(): T | null {
    const t = this.token;
    return t && t.expiresAt > this.now() ? t.token : null;
  }

  /** A usable token, fetched if there is none (one fetch at a time, however many calls wait). */
  ready(): Promise<T> {
    const t = this.current();
    return t !== null ? Promise.resolve(t) : this.fetch();
  }

  /** Fetches a new token (the one in use serves until it arrives); one fetch at a time. */
  private fetch(): Promise<T> {
    this.pending ??= withTimeout(this.fetchToken(), this.timeoutMs).then(
      (fetched) => {
        this.pending = null;
        this.token = fetched;
        this.lastError = null;
        if (Number.isFinite(fetched.expiresAt)) this.schedule(fetched.expiresAt - REFRESH_BEFORE_MS - this.now());
        return fetched.token;
      },
      (err: unknown) => {
        this.pending = null;
        this.lastError = err instanceof Error ? err.message : String(err);
        // With the old token still good, a failed refresh tries again soon; without, the next call does.
        if (this.current() !== null) this.schedule(RETRY_MS);
        throw err;
      },
    );
    return this.pending;
  }

  /** Fetches the first token now (at start), so that even the first call finds one. */
  warm(): void {
    this.ready().catch(() => {
      // said to the calls that need it; the start must not fail for a credential not yet reachable
    });
  }

  private schedule(inMs: number): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.fetch().catch(() => undefined);
    }, Math.min(2 ** 31 - 1, Math.max(1_000, inMs)));
    // (unref'd: a refresh never keeps a stopping process alive)
    this.timer.unref();
  }
}
