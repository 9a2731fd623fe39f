// Dashboard sessions: an id (stored as its SHA-256), its CSRF token and expiry. In the database, so
// that every instance knows them and signing out ends a session everywhere.
import type { Queryable } from './db.ts';

export interface SessionRow {
  id_hash: string;
  username: string;
  /** The signed-in user's id; null for the admin (UI_USERNAME). */
  user_id: string | null;
  /** Which sign-in credentials opened it: changing UI_PASSWORD (or the master key) ends it. */
  credentials_hash: string;
  csrf: string;
  expires_at: string;
  created_at: string;
}

export class SessionRepo {
  private readonly db: Queryable;

  constructor(db: Queryable) {
    this.db = db;
  }

  async insert(s: SessionRow): Promise<void> {
    await this.db.run(
      'INSERT INTO llmproxy_ui_sessions (id_hash, username, user_id, credentials_hash, csrf, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
      [s.id_hash, s.username, s.user_id, s.credentials_hash, s.csrf, s.expires_at, s.created_at],
    );
  }

  /** The session if it exists and has not expired at `now`. */
  async live(idHash: string, now: string): Promise<SessionRow | undefined> {
    return this.db.get<SessionRow>('SELECT * FROM llmproxy_ui_sessions WHERE id_hash = ? AND expires_at > ?', [idHash, now]);
  }

  async delete(idHash: string): Promise<void> {
    await this.db.run('DELETE FROM llmproxy_ui_sessions WHERE id_hash = ?', [idHash]);
  }

  async deleteExpired(now: string): Promise<number> {
    return (await this.db.run('DELETE FROM llmproxy_ui_sessions WHERE expires_at <= ?', [now])).changes;
  }
}
