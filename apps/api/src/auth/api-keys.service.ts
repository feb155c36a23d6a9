import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { Inject, Injectable } from '@nestjs/common';
import type { Config } from '@dllm/shared';
import { ApiError } from '../common/api-error';
import { CONFIG } from '../common/core.module';
import { ApiKeysRepository } from './api-keys.repository';
import { KeyRevocations } from './key-revocations';
import type { Principal } from './principal';

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/** Prefix of every key we issue, so a leaked one is recognisable (e.g. by secret scanners). */
export const KEY_PREFIX = 'dllm_';

export interface IssuedKey {
  id: string;
  tenant: string;
  name: string;
  /** the plaintext key: shown once, never stored */
  key: string;
  created_at: string;
}

export interface KeyListing {
  id: string;
  tenant: string;
  name: string;
  created_at: string;
  last_used_at: string | null;
  revoked_at: string | null;
}

const LAST_USED_RESOLUTION_MS = 60_000;
/** Keys remembered at most (a flood of distinct valid keys cannot grow the cache without bound). */
const CACHED_KEYS_MAX = 10_000;

@Injectable()
export class ApiKeysService {
  private readonly lastNoted = new Map<string, number>();
  /**
   * Valid keys looked up in the last AUTH_CACHE_MS, by hash: a request in that window skips the
   * Postgres read. A revocation evicts its key here at once (KeyRevocations: this process, and
   * the others through Redis), so only a revocation made while Redis is away reaches the other
   * processes late, by AUTH_CACHE_MS at most. Unknown and revoked keys are never cached.
   */
  private readonly cached = new Map<string, { principal: Principal; until: number }>();
  /** counts revocations heard: a lookup that raced one is not cached */
  private revocationsHeard = 0;

  constructor(
    private readonly keys: ApiKeysRepository,
    private readonly revocations: KeyRevocations,
    @Inject(CONFIG) private readonly config: Config,
  ) {
    revocations.onRevoked((keyId) => this.forget(keyId));
  }

  /** The principal of a bearer key; 401 naming why when there is none. */
  async authenticate(key: string): Promise<Principal> {
    const hash = sha256Hex(key);
    const now = Date.now();
    const hit = this.cached.get(hash);
    if (hit && hit.until > now) {
      this.noteUse(hit.principal.apiKeyId);
      return hit.principal;
    }
    const heard = this.revocationsHeard;
    const found = await this.keys.findByHash(hash);
    if (!found) throw ApiError.unauthorized('invalid API key');
    if (found.revokedAt)
      throw ApiError.unauthorized(`API key was revoked at ${found.revokedAt.toISOString()}`);
    this.noteUse(found.id);
    const principal = { apiKeyId: found.id, tenant: found.tenant };
    if (this.config.AUTH_CACHE_MS > 0 && heard === this.revocationsHeard) {
      if (this.cached.size >= CACHED_KEYS_MAX) this.cached.clear();
      this.cached.set(hash, { principal, until: now + this.config.AUTH_CACHE_MS });
    }
    return principal;
  }

  /** Drops a key from the lookup cache (it was revoked). */
  private forget(keyId: string): void {
    this.revocationsHeard++;
    for (const [hash, entry] of this.cached)
      if (entry.principal.apiKeyId === keyId) this.cached.delete(hash);
  }

  /** last_used_at, written at most once a minute per key and process, off the request's path. */
  private noteUse(id: string): void {
    const now = Date.now();
    if (now - (this.lastNoted.get(id) ?? 0) < LAST_USED_RESOLUTION_MS) return;
    this.lastNoted.set(id, now);
    this.keys.touch(id).catch(() => this.lastNoted.delete(id)); // retried on a later request
  }

  /** Every key without its secret: find a leaked one by name, tenant or last use. */
  async list(): Promise<KeyListing[]> {
    return (await this.keys.list()).map((k) => ({
      id: k.id,
      tenant: k.tenant,
      name: k.name,
      created_at: k.createdAt.toISOString(),
      last_used_at: k.lastUsedAt?.toISOString() ?? null,
      revoked_at: k.revokedAt?.toISOString() ?? null,
    }));
  }

  isAdminKey(key: string): boolean {
    const admin = this.config.ADMIN_API_KEY;
    if (admin === undefined)
      throw ApiError.unauthorized('the admin API is disabled (ADMIN_API_KEY is not set)');
    // Equal-length digests keep the comparison constant-time whatever the input length.
    return timingSafeEqual(
      Buffer.from(sha256Hex(key), 'hex'),
      Buffer.from(sha256Hex(admin), 'hex'),
    );
  }

  async issue(tenant: string, name: string): Promise<IssuedKey> {
    const key = KEY_PREFIX + randomBytes(24).toString('base64url');
    const saved = await this.keys.create(tenant, name, sha256Hex(key));
    return {
      id: saved.id,
      tenant: saved.tenant,
      name: saved.name,
      key,
      created_at: saved.createdAt.toISOString(),
    };
  }

  async revoke(
    id: string,
  ): Promise<{ id: string; tenant: string; name: string; revoked_at: string }> {
    const revoked = await this.keys.revoke(id);
    if (!revoked) throw ApiError.notFound(`API key ${id} not found`);
    await this.revocations.revoked(revoked.id); // its open streams and waiting completions end now
    return {
      id: revoked.id,
      tenant: revoked.tenant,
      name: revoked.name,
      revoked_at: revoked.revokedAt!.toISOString(),
    };
  }
}
