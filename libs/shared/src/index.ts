export {
  configSchema,
  loadConfig,
  ConfigError,
  EXECUTION_PROVIDERS,
  type Config,
} from './config/config.schema';
