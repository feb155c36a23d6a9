// Entry for the TypeORM CLI (e.g. `npx typeorm-ts-node-commonjs migration:show -d <this file>`).
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/config.schema';
import { dataSourceOptions } from './data-source';

export default new DataSource(dataSourceOptions(loadConfig()));
