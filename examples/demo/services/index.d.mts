export interface RunningService {
  url: string;
  port: number;
  close(): Promise<void>;
}

export const SERVICES: Record<
  'auth' | 'blockchain' | 'sessions' | 'nodes' | 'admin',
  { host: string; port: number; create(opts: { secret?: string }): unknown }
>;

export function startServices(opts: {
  secret: string;
  host?: string;
  usualPorts?: boolean;
}): Promise<Record<keyof typeof SERVICES, RunningService>>;
