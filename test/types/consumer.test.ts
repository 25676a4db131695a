// A TypeScript consumer of the published packages: fixtures compiled with `tsc` (the compiler API)
// against the built declarations (dist/*.d.ts), as an app that installed them would see them.
import { join } from 'node:path';
import { ensureBuilt, REPO_DIR } from '@lucid/test-kit/cli';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';

// Builds the packages when their sources are newer than dist (slow on a busy machine).
beforeAll(ensureBuilt, 300_000);

const dist = (pkg: string) => [join(REPO_DIR, 'packages', pkg, 'dist', 'index.d.ts')];
const options: ts.CompilerOptions = {
  target: ts.ScriptTarget.ES2023,
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: ['node'],
  baseUrl: REPO_DIR,
  paths: {
    '@lucid/gateway-core': dist('core'),
    '@lucid/middleware-auth': dist('middleware-auth'),
    '@lucid/middleware-ratelimit': dist('middleware-ratelimit'),
    '@lucid/mesh-consul': dist('mesh-consul'),
  },
};

const fixturePath = (name: string) => join(REPO_DIR, 'test', 'types', name);

/** Fixture files, in memory, beside the repo's root (so `node_modules` resolves as for a consumer). */
function hosts(files: Record<string, string>) {
  const inMemory = new Map(Object.entries(files).map(([name, text]) => [fixturePath(name), text]));
  const readFile = (name: string) => inMemory.get(name) ?? ts.sys.readFile(name);
  const fileExists = (name: string) => inMemory.has(name) || ts.sys.fileExists(name);
  const base = ts.createCompilerHost(options);
  const compiler: ts.CompilerHost = {
    ...base,
    fileExists,
    readFile,
    getSourceFile: (name, version) => {
      const text = inMemory.get(name);
      return text === undefined
        ? base.getSourceFile(name, version)
        : ts.createSourceFile(name, text, version, true);
    },
  };
  const language: ts.LanguageServiceHost = {
    getScriptFileNames: () => [...inMemory.keys()],
    getScriptVersion: () => '1',
    getScriptSnapshot: (name) => {
      const text = readFile(name);
      return text === undefined ? undefined : ts.ScriptSnapshot.fromString(text);
    },
    getCurrentDirectory: () => REPO_DIR,
    getCompilationSettings: () => options,
    getDefaultLibFileName: (o) => ts.getDefaultLibFilePath(o),
    fileExists,
    readFile,
    directoryExists: ts.sys.directoryExists,
    getDirectories: ts.sys.getDirectories,
    realpath: ts.sys.realpath,
  };
  return { compiler, language, names: [...inMemory.keys()] };
}

/** The errors `tsc` reports for the fixtures, as `file: message` (first line of each). */
function compile(files: Record<string, string>): string[] {
  const { compiler, names } = hosts(files);
  const program = ts.createProgram(names, options, compiler);
  return ts.getPreEmitDiagnostics(program).map((d) => {
    const file = d.file ? d.file.fileName.slice(d.file.fileName.lastIndexOf('/') + 1) : '';
    return `${file}: ${ts.flattenDiagnosticMessageText(d.messageText, '\n').split('\n')[0]}`;
  });
}

/** What an editor offers at `|` in the fixture. */
function completions(text: string): string[] {
  const name = 'complete.mts';
  const at = text.indexOf('|');
  const { language } = hosts({ [name]: text.replace('|', '') });
  const service = ts.createLanguageService(language, ts.createDocumentRegistry());
  const found = service.getCompletionsAtPosition(fixturePath(name), at, {});
  return (found?.entries ?? []).map((e) => e.name);
}

describe('a TypeScript consumer of the gateway', () => {
  it('a misspelled section, route option or service option is a compile error that names it', () => {
    const errors = compile({
      'typos.mts': `import { createGateway } from '@lucid/gateway-core';
createGateway({ servics: {} });
createGateway({ routes: [{ prefix: '/a', service: 'a', scope: ['admin'] }] });
createGateway({ services: { a: { targets: ['http://a'], timout: '5s' } } });
`,
    });
    expect(errors).toEqual([
      expect.stringMatching(/^typos\.mts: .*'servics' does not exist.*Did you mean to write 'services'\?/),
      expect.stringMatching(/^typos\.mts: .*'scope' does not exist.*Did you mean to write 'scopes'\?/),
      expect.stringMatching(/^typos\.mts: .*'timout' does not exist.*Did you mean to write 'timeout'\?/),
    ]);
  });

  it("a plugin's section is unknown until its package is imported", () => {
    const errors = compile({
      'no-plugins.mts': `import { createGateway } from '@lucid/gateway-core';
createGateway({ auth: { jwt: { secret: 's', issuer: 'i', audience: 'a' } } });
createGateway({ rateLimit: { tiers: { free: '10/min' } } });
createGateway({ mesh: {} });
`,
    });
    expect(errors).toEqual([
      expect.stringMatching(/'auth' does not exist in type 'GatewayConfigInput'/),
      expect.stringMatching(/'rateLimit' does not exist in type 'GatewayConfigInput'/),
      expect.stringMatching(/'mesh' does not exist in type 'GatewayConfigInput'/),
    ]);
  });

  it('with @lucid/middleware-auth, -ratelimit and mesh-consul imported, their sections and options compile and are checked', () => {
    const plugins = `import { createGateway } from '@lucid/gateway-core';
import { jwtAuth } from '@lucid/middleware-auth';
import { rateLimit } from '@lucid/middleware-ratelimit';
import { consulMesh } from '@lucid/mesh-consul';
void jwtAuth; void rateLimit; void consulMesh;
`;
    expect(
      compile({
        'plugins.mts': `${plugins}
createGateway({
  services: { users: { discovery: 'consul', consul: { service: 'users-v2', tag: 'blue' } } },
  routes: [{ prefix: '/users', service: 'users', scopes: ['read'], claims: { role: ['admin', 'ops'] }, rateLimit: '5/s' }],
  auth: { jwt: { secret: 's', issuer: 'i', audience: 'a' }, forward: { 'x-user-id': 'sub' } },
  rateLimit: { tiers: { free: '10/min' }, defaultTier: 'free' },
  mesh: { consul: { url: 'http://127.0.0.1:8500' } },
});
`,
      }),
    ).toEqual([]);
    // Checked, not just admitted: a wrong shape inside a plugin's section is an error too.
    expect(
      compile({
        'plugins-wrong.mts': `${plugins}
createGateway({ auth: { jwt: { secret: 's', issuer: 'i', audience: 'a' }, forwrd: {} } });
createGateway({ routes: [{ prefix: '/a', service: 'a', claims: { role: 7 } }] });
`,
      }),
    ).toEqual([
      expect.stringMatching(/'forwrd' does not exist/),
      expect.stringMatching(/^plugins-wrong\.mts: Type 'number' is not assignable/),
    ]);
  });

  it('an editor offers auth, rateLimit and mesh once their packages are imported', () => {
    const offered = completions(`import { createGateway } from '@lucid/gateway-core';
import '@lucid/middleware-auth';
import '@lucid/middleware-ratelimit';
import '@lucid/mesh-consul';
createGateway({ | });
`);
    expect(offered).toEqual(
      expect.arrayContaining(['auth', 'rateLimit', 'mesh', 'services', 'routes', 'server']),
    );
    const bare = completions(`import { createGateway } from '@lucid/gateway-core';
createGateway({ | });
`);
    expect(bare).toEqual(expect.arrayContaining(['services', 'routes']));
    expect(bare).not.toContain('auth');
  });
});
