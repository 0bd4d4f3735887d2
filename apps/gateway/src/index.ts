export { createApp, type AppParts } from "./app.ts";
export { startGateway, type Gateway } from "./gateway.ts";
export { ConfigError, loadConfig, type GatewayConfig } from "./config/load.ts";
export { gatewayEnvSchema } from "./config/schema.ts";
export { providers, type ProviderName, type StorageProvider } from "./storage/providers/index.ts";
export { ERROR_STATUS, HttpError, type ErrorCode } from "./http/errors.ts";
export { createAuthenticator, type Authenticator, type AuthRequest } from "./auth/index.ts";
