/** The cluster DNS patch: pure planning; the controller reads the objects and applies the plan. */
export { planDnsPatch, planDnsCleanup, DNS_CONFIG_ANNOTATION } from './plan.ts';
export type { ConfigMapWrite, DeploymentRestart, DnsObserved, DnsPlan, DnsStrategy } from './plan.ts';
export { BEGIN_MARKER, END_MARKER, patchCorefile, unpatchCorefile } from './corefile.ts';
export { CUSTOM_SERVER_KEY, patchCustomData, removeCustomData } from './coredns-custom.ts';
export { STUB_DOMAINS_KEY, patchStubDomains, removeStubDomains } from './stub-domains.ts';
export { findCorefileConfigMap } from './deployment.ts';
export { checkTarget } from './types.ts';
export type { ConfigMapObject, DeploymentObject, DnsTarget } from './types.ts';
