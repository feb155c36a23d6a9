import { Injectable } from '@nestjs/common';
import { ApiKeyEntity } from '@dllm/shared';
import { DataSource, type Repository } from 'typeorm';

@Injectable()
export class ApiKeysRepository {
  private readonly keys: Repository<ApiKeyEntity>;

  constructor(dataSource: DataSource) {
    this.keys = dataSource.getRepository(ApiKeyEntity);
  }

  findByHash(keyHash: string): Promise<ApiKeyEntity | null> {
    return this.keys.findOneBy({ keyHash });
  }

  async create(tenant: string, name: string, keyHash: string): Promise<ApiKeyEntity> {
    return this.keys.save(this.keys.create({ tenant, name, keyHash }));
  }

  /** Every key, newest first (the admin listing; keys are few). */
  list(): Promise<ApiKeyEntity[]> {
    return this.keys.find({ order: { createdAt: 'DESC', id: 'ASC' } });
  }

  async touch(id: string): Promise<void> {
    await this.keys.update({ id }, { lastUsedAt: () => 'now()' });
  }

  /** Sets revoked_at once; returns the key (null when there is none with this id). */
  async revoke(id: string): Promise<ApiKeyEntity | null> {
    await this.keys
      .createQueryBuilder()
      .update()
      .set({ revokedAt: () => 'now()' })
      .where('id = :id AND revoked_at IS NULL', { id })
      .execute();
    return this.keys.findOneBy({ id });
  }
}
