/** The parts of Consul's HTTP API answers the mesh reads (field names as Consul sends them). */

export interface HealthEntry {
  Node: { ID?: string; Node: string; Address: string; Datacenter?: string };
  Service: {
    ID: string;
    Service: string;
    Kind?: string;
    Tags?: string[] | null;
    Address?: string;
    Port: number;
    Meta?: Record<string, string> | null;
    Namespace?: string;
    Weights?: { Passing: number; Warning: number };
  };
  Checks: Array<{
    CheckID: string;
    Status: 'passing' | 'warning' | 'critical' | 'maintenance';
    ServiceID: string;
  }>;
}

/** `/v1/agent/connect/ca/roots`. */
export interface CaRoots {
  ActiveRootID: string;
  TrustDomain: string;
  Roots: Array<{ ID: string; RootCert: string; IntermediateCerts?: string[] | null; Active: boolean }>;
}

/** `/v1/agent/connect/ca/leaf/:service`. */
export interface LeafCert {
  SerialNumber: string;
  CertPEM: string;
  PrivateKeyPEM: string;
  Service: string;
  ServiceURI: string;
  ValidAfter: string;
  ValidBefore: string;
}

/** The body of `PUT /v1/agent/service/register`, in the consul client's lower-case option names. */
export interface AgentServiceRegistration {
  name: string;
  id: string;
  tags: string[];
  meta: Record<string, string>;
  address?: string;
  port: number;
  check: {
    name: string;
    http: string;
    interval: string;
    timeout: string;
    deregistercriticalserviceafter: string;
  };
}
