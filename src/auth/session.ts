// Dashboard sign-in as LiteLLM does it: the admin with UI_USERNAME / UI_PASSWORD (the password
// defaulting to the master key), and users with their email (or user_id) and the password an admin
// set for them. A random session id in an HttpOnly, SameSite=Strict cookie (stored hashed), and a CSRF
// token the page holds in memory and sends as `x-csrf-token` on every call. The admin's session acts as
// the master key on the management API, a user's as that user; the master key never reaches the browser.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { GatewayError } from '../http/errors.ts';
import type { SessionRepo, SessionRow } from '../store/sessions.ts';
import type { UserRecord } from '../store/users.ts';
import { hashPassword, verifyPassword } from './passwords.ts';
type Headers = Record<string, string | string[] | undefined>;

/** Where sessions find users: to sign them in, and to end their sessions when their password changes. */
export interface SessionUsers {
  get(userId: string): Promise<UserRecord | undefined>;
  getByEmail(email: string): Promise<UserRecord | undefined>;
}

export const SESSION_COOKIE = 'llmproxy_session';
/** Over HTTPS the cookie takes the __Host- prefix: only this host, over TLS, can set it. */
export const SECURE_SESSION_COOKIE = `__Host-${SESSION_COOKIE}`;
const CSRF_HEADER = 'x-csrf-token';

export interface UiCredentials {
  username: string;
  password: string;
  /** How long a session lasts. */
  ttlMs: number;
}

const sha256 = (s: string) => createHash('sha256').update(s).digest();

/** Every value of the session cookies (a cookie planted by a sibling host may come first). */
function sessionIds(headers: Headers): string[] {
  const raw = headers.cookie;
  if (typeof raw !== 'string') return [];
  const out: string[] = [];
  for (const part of raw.split(';')) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq).trim() : '';
    if (name === SECURE_SESSION_COOKIE || name === SESSION_COOKIE) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

function header(headers: Headers, name: string): string | null {
  const v = headers[name];
  return typeof v === 'string' ? v : null;
}

/**
 * A request another site made the browser send. Browsers say so in Sec-Fetch-Site; older ones only in
 * Origin, compared with the host the browser addressed (a proxy in front may rewrite Host).
 */
export function crossSite(headers: Headers): boolean {
  const site = header(headers, 'sec-fetch-site');
  if (site !== null) return site !== 'same-origin' && site !== 'none';
  const origin = header(headers, 'origin');
  if (origin === null) return false;
  try {
    return new URL(origin).host !== (header(headers, 'x-forwarded-host') ?? header(headers, 'host'));
  } catch {
    return true;
  }
}

/** A user's sessions last as long as the password they signed in with. */
const userCredentialsHash = (u: UserRecord) => sha256(`llm-proxy user\0${u.user_id}\0${u.password_hash}`).toString('hex');

export class UiSessions {
  private readonly repo: SessionRepo;
  private readonly creds: UiCredentials;
  private readonly users: SessionUsers | null;
  /** Checked when no user has the name given, so that a wrong name takes as long as a wrong password. */
  private decoy: Promise<string> | null = null;
  private readonly userDigest: Buffer;
  private readonly passwordDigest: Buffer;
  private readonly credentialsHash: string;

  constructor(repo: SessionRepo, creds: UiCredentials, users: SessionUsers | null = null) {
    this.repo = repo;
    this.creds = creds;
    this.users = users;
    this.userDigest = sha256(creds.username);
    this.passwordDigest = sha256(creds.password);
    this.credentialsHash = sha256(`llm-proxy ui\0${creds.username}\0${creds.password}`).toString('hex');
  }

  /** Both compared in constant time, both always. */
  credentialsMatch(username: string, password: string): boolean {
    const user = timingSafeEqual(sha256(username), this.userDigest);
    const pass = timingSafeEqual(sha256(password), this.passwordDigest);
    return user && pass;
  }

  /** The user these credentials sign in (by email, or user_id), if any: a user with no password signs in nobody. */
  async userMatching(name: string, password: string): Promise<UserRecord | null> {
    if (!this.users || name === '') return null;
    const user = (name.includes('@') ? await this.users.getByEmail(name) : undefined) ?? (await this.users.get(name));
    if (!user?.password_hash) {
      await verifyPassword(password, await (this.decoy ??= hashPassword(randomBytes(16).toString('hex'))));
      return null;
    }
    return (await verifyPassword(password, user.password_hash)) ? user : null;
  }

  /** A session of the admin (no user), or of a user. */
  async start(username: string, user: UserRecord | null = null, now = Date.now()): Promise<{ id: string; csrf: string; maxAgeS: number }> {
    const id = randomBytes(32).toString('base64url');
    const csrf = randomBytes(24).toString('base64url');
    await this.repo.insert({
      id_hash: sha256(id).toString('hex'),
      username,
      user_id: user?.user_id ?? null,
      credentials_hash: user ? userCredentialsHash(user) : this.credentialsHash,
      csrf,
      expires_at: new Date(now + this.creds.ttlMs).toISOString(),
      created_at: new Date(now).toISOString(),
    });
    return { id, csrf, maxAgeS: Math.floor(this.creds.ttlMs / 1000) };
  }

  /** Whether the request carries a session cookie at all (else other credentials apply). */
  hasCookie(headers: Headers): boolean {
    return sessionIds(headers).length > 0;
  }

  private async live(headers: Headers): Promise<SessionRow | undefined> {
    const now = new Date().toISOString();
    for (const id of sessionIds(headers)) {
      const s = await this.repo.live(sha256(id).toString('hex'), now);
      if (!s) continue;
      // Sessions opened with credentials since replaced are over; so are those of a deleted user.
      if (s.user_id === null) {
        if (s.credentials_hash === this.credentialsHash) return s;
        continue;
      }
      const user = await this.users?.get(s.user_id);
      if (user?.password_hash && s.credentials_hash === userCredentialsHash(user)) return s;
    }
    return undefined;
  }

  /**
   * The request's live session, checked against cross-site use: the CSRF token must come with every
   * call (a page of another site cannot read it nor set the header without CORS, which is off).
   */
  async verify(headers: Headers, opts: { csrf: boolean } = { csrf: true }): Promise<SessionRow> {
    const session = await this.live(headers);
    if (!session) throw new GatewayError('invalid_key', 'Your dashboard session has ended: sign in again.');
    if (crossSite(headers)) throw new GatewayError('cross_site', 'Cross-site request refused.');
    if (opts.csrf) {
      const sent = Buffer.from(header(headers, CSRF_HEADER) ?? '');
      const expected = Buffer.from(session.csrf);
      const ok = sent.length === expected.length && timingSafeEqual(sent, expected);
      // Its own code, so that a page holding an old token (signed in again elsewhere) can fetch the new one.
      if (!ok) throw new GatewayError('cross_site', 'Missing or wrong CSRF token.', { code: 'csrf_token' });
    }
    return session;
  }

  async end(headers: Headers): Promise<void> {
    for (const id of sessionIds(headers)) await this.repo.delete(sha256(id).toString('hex'));
  }

  /**
   * The Set-Cookie value for a new session, or to clear it (maxAgeS 0). Over HTTPS: Secure and the
   * __Host- prefix; over plain HTTP (a gateway on a private network) neither is possible.
   */
  static setCookie(id: string, maxAgeS: number, secure: boolean): string {
    const name = secure ? SECURE_SESSION_COOKIE : SESSION_COOKIE;
    return `${name}=${id}; Path=/; Max-Age=${maxAgeS}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`;
  }
}
