import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SERVICES } from '../../examples/demo/services/index.mjs';
import { parseDockerfile } from './dockerfile.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
// The CLI's own YAML parser (the root workspace does not depend on one).
const { parse } = createRequire(`${root}packages/cli/package.json`)('yaml') as {
  parse(text: string, options: { merge: boolean }): unknown;
};

interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  read_only?: boolean;
  depends_on?: Record<string, { condition: string }>;
}

const compose = parse(readFileSync(`${root}docker-compose.yml`, 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const standalone = readFileSync(`${root}examples/standalone/lucid-gateway.config.yaml`, 'utf8');
const gateway = compose.services.gateway!;

describe('docker-compose.yml', () => {
  it('builds the gateway from the Dockerfile and publishes its port', () => {
    expect(gateway.build).toBe('.');
    expect(gateway.ports).toContain('8080:8080');
    expect(gateway.read_only).toBe(true);
  });

  it("mounts the standalone config where the image's CLI looks for it", () => {
    const workdir = parseDockerfile(`${root}Dockerfile`)
      .stages.at(-1)!
      .instructions.findLast((i) => i.op === 'WORKDIR')!.args;
    expect(gateway.volumes).toContain(
      `./examples/standalone/lucid-gateway.config.yaml:${workdir}/lucid-gateway.config.yaml:ro`,
    );
  });

  it('gives the gateway Redis, and starts it after Redis is healthy', () => {
    expect(compose.services.redis?.image).toMatch(/^redis:/);
    expect(gateway.environment?.REDIS_URL).toBe('redis://redis:6379');
    expect(gateway.depends_on?.redis?.condition).toBe('service_healthy');
    expect(standalone).toMatch(/store: redis/);
  });

  it('runs each stand-in under the name and port the standalone config expects', () => {
    for (const [name, svc] of Object.entries(SERVICES)) {
      const service = compose.services[svc.host];
      expect(service, svc.host).toBeDefined();
      expect(service!.command).toEqual(['node', 'services/serve.mjs', name]);
      expect(service!.environment?.PORT).toBe(String(svc.port));
      expect(service!.volumes).toContain('./examples/demo:/demo:ro');
      expect(standalone).toContain(`http://${svc.host}:${svc.port}`);
      expect(gateway.depends_on?.[svc.host]?.condition).toBe('service_healthy');
    }
  });

  it('signs and verifies tokens with one secret', () => {
    const secret = gateway.environment?.JWT_SECRET_KEY;
    expect(secret).toBeTruthy();
    expect(compose.services['lucid-auth-service']?.environment?.JWT_SECRET_KEY).toBe(secret);
  });
});
