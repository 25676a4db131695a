/**
 * The starter config `lucid-gateway init` writes: the five Lucid services, commented, with every
 * address and secret taken from the environment (the seed's `.env.core`).
 */
export const STARTER_CONFIG = `# Lucid Gateway config. Check it with \`lucid-gateway validate\`, list the routes with
# \`lucid-gateway routes\`, run it with \`lucid-gateway start --env-file .env.core\`.
# \${VAR} and \${VAR:-default} are read from the environment (and from --env-file).
# The JSON Schema for editor autocomplete ships with the package: lucid-gateway/schema.json
# (VS Code + YAML extension: add "# yaml-language-server: $schema=./node_modules/lucid-gateway/schema.json").

server:
  host: 0.0.0.0
  port: 8080                      # PORT overrides it; --port overrides both
  trustProxy: []                  # CIDRs of your load balancers, whose X-Forwarded-For is believed
  limits: { body: 10mb, headers: 16kb }
  timeouts: { headers: 10s, request: 60s, keepAlive: 65s, shutdown: 30s }
  # cors: { origins: ["https://app.example.com"], credentials: true }
  # Operators' port: /metrics (its labels name every upstream address), the dashboard and the
  # detailed /health. The public port keeps /health/live, /health/ready and a summary /health.
  # In a container, set host: 0.0.0.0 and publish the port only where operators reach it.
  admin: { port: 9901, host: 127.0.0.1 }

logging:
  level: info                     # LOG_LEVEL overrides it
  pretty: auto                    # pretty on a terminal, JSON lines otherwise

# A read-only dashboard at /ui/ on the admin port (off by default): targets up or down and why, rates, components.
# With auth configured it wants a token with the admin scope (set auth/scopes to change that).
# builtins:
#   ui: { path: /ui, refresh: 2s }

# The upstreams. Each has static targets (or "discovery: consul", with the mesh section below).
services:
  auth:
    targets: ["\${AUTH_SERVICE_URL:-http://lucid-auth-service:8089}"]
    timeout: 30s
    health: /health
  blockchain:
    targets: ["\${BLOCKCHAIN_ENGINE_URL:-http://lucid-blockchain-engine:8084}"]
    health: /health
  sessions:
    targets: ["\${SESSION_API_URL:-http://lucid-session-api:8087}"]
    health: /health
  nodes:
    targets: ["\${NODE_MANAGEMENT_URL:-http://lucid-node-management:8096}"]
    health: /health
  admin:
    targets: ["\${ADMIN_INTERFACE_URL:-http://lucid-admin-interface:8083}"]
    health: /health

# Prefixes match on segment boundaries (/admin matches /admin/x, never /administrator) and are
# stripped before forwarding unless "stripPrefix: false". Routes need a valid token unless
# "auth: public".
routes:
  - { prefix: /auth, service: auth, auth: public }
  - { prefix: /blockchain, service: blockchain }
  - { prefix: /sessions, service: sessions }
  - { prefix: /nodes, service: nodes }
  - { prefix: /admin, service: admin, scopes: [admin] }

auth:
  jwt:
    secret: "\${JWT_SECRET_KEY}"   # HS256 needs at least 32 bytes: openssl rand -base64 48
    algorithms: [HS256]
    issuer: "\${JWT_ISSUER:-lucid-auth}"
    audience: "\${JWT_AUDIENCE:-lucid-api}"
    # Or verify with public keys: publicKey: <PEM>, or jwks: https://auth.example/.well-known/jwks.json
  tierClaim: tier                 # the claim that picks the rate-limit tier

rateLimit:
  store: memory                   # per process; with --workers or several hosts use redis:
  # store: redis
  # redis: { url: "\${REDIS_URL:-redis://127.0.0.1:6379}" }
  keyBy: user                     # the token's sub when authenticated, else the client ip
  tiers: { free: 100/min, premium: 1000/min, enterprise: 10000/min }
  defaultTier: free
  onStoreError: open              # or closed: refuse requests while the store is down

# Consul discovery and self-registration (CONSUL_HTTP_ADDR overrides the url):
# mesh:
#   consul:
#     url: "\${CONSUL_HTTP_ADDR:-http://127.0.0.1:8500}"
#     register: { name: lucid-api-gateway }
`;
